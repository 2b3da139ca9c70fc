package lua

import "github.com/moongate/moongate/core/chain"

var _ chain.Responder = Step{}

// Answers implements chain.Responder: a script may answer requests itself
// (gw.response.exit) or pick their upstream (gw.upstream.set_upstream), as
// its code decides, which cannot be known before requests come.
func (s Step) Answers() chain.Answer { return chain.AnswerMaybe }
