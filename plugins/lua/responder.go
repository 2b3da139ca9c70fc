package lua

import "github.com/moongate/moongate/core/plugin"

var _ plugin.Responder = Step{}

// Answers implements plugin.Responder: a script may answer requests itself
// (gw.response.exit) or pick their upstream (gw.upstream.set_upstream), as
// its code decides, which cannot be known before requests come.
func (s Step) Answers() plugin.Answer { return plugin.AnswerMaybe }
