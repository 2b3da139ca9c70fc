package translate

import (
	"bytes"
	"errors"

	"github.com/moongate/moongate/core/jsonstr"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
	"github.com/moongate/moongate/plugins/aiproxy/sse"
	"github.com/moongate/moongate/plugins/aiproxy/usage"
)

// ErrMalformedEvent is returned by the stream translators for a provider
// event whose data is not the JSON the API promises.
var ErrMalformedEvent = errors.New("translate: the provider sent a malformed stream event")

// ErrStreamCut is returned by the stream translators' End when the
// provider's stream ended before the answer was complete.
var ErrStreamCut = errors.New("translate: the provider's stream ended before the answer was complete")

// maxToolCalls bounds the tool calls of one streamed answer, since the
// provider's tool call index sizes a table.
const maxToolCalls = 1024

// Kinds of content blocks, for StreamToOpenAI.
const (
	blockSkip uint8 = iota // thinking, server tools: not shown to an OpenAI client
	blockText
	blockTool
)

type blockInfo struct {
	kind uint8
	tool int // OpenAI tool call index of a tool block
}

// StreamToOpenAI translates an Anthropic event stream into the OpenAI
// chunk stream a chat completions client expects, event by event: every
// text or tool-input delta becomes a chunk at once.
//
//	message_start          → chunk with delta {role: assistant, content: ""}
//	content_block_start    → tool_use: chunk with tool_calls[{index, id, type, function{name, arguments: ""}}]
//	content_block_delta    → text_delta: chunk with delta {content}; input_json_delta: tool_calls[{index, function{arguments}}]
//	message_delta          → chunk with finish_reason (see FinishReason)
//	message_stop           → the usage chunk (when the client asked for it), then data: [DONE]
//	error                  → data: {"error": {...}} in OpenAI's shape; the stream ends
//	ping, content_block_stop, thinking → nothing
//
// A StreamToOpenAI is used by one stream at a time; Reset readies it for
// the next. It keeps its buffers, so a warm translator allocates nothing
// per event.
type StreamToOpenAI struct {
	opt          ResponseOptions
	includeUsage bool
	prefix       []byte // a chunk up to and including `"choices":[`
	blocks       []blockInfo
	tools        int
	stop         []byte // the client's finish_reason, a JSON literal
	a            usage.Anthropic
	sawUsage     bool
	started      bool
	finished     bool // the finish_reason chunk was sent
	done         bool
	scratch      []byte
	scratch2     []byte
}

// NewStreamToOpenAI returns a translator for one stream. includeUsage is
// the client's stream_options.include_usage.
func NewStreamToOpenAI(opt ResponseOptions, includeUsage bool) *StreamToOpenAI {
	s := &StreamToOpenAI{}
	s.Reset(opt, includeUsage)
	return s
}

// Reset readies s for a new stream, keeping its buffers.
func (s *StreamToOpenAI) Reset(opt ResponseOptions, includeUsage bool) {
	*s = StreamToOpenAI{opt: opt, includeUsage: includeUsage,
		prefix: s.prefix[:0], blocks: s.blocks[:0], stop: s.stop[:0], scratch: s.scratch[:0], scratch2: s.scratch2[:0]}
}

// Done reports whether the client's stream is complete: after [DONE] or
// an error event, nothing more is written.
func (s *StreamToOpenAI) Done() bool { return s.done }

// Usage returns the usage the provider reported, in Tokens.
func (s *StreamToOpenAI) Usage() (usage.Tokens, bool) { return s.a.Tokens(), s.sawUsage }

// Event translates one provider event (its SSE event type and data) and
// appends the resulting SSE events, if any, to dst. Empty data (a
// keep-alive) is ignored. On a malformed event
// it appends an error event for the client, ends the stream and returns
// ErrMalformedEvent with dst.
func (s *StreamToOpenAI) Event(dst, typ, data []byte) ([]byte, error) {
	if s.done || len(bytes.TrimSpace(data)) == 0 {
		return dst, nil
	}
	var etype, message, index, block, delta, usageObj, errObj []byte
	it := rawjson.Object(data)
	for it.Next() {
		switch v := it.Value(); {
		case it.KeyIs("type"):
			etype = v
		case it.KeyIs("message"):
			message = v
		case it.KeyIs("index"):
			index = v
		case it.KeyIs("content_block"):
			block = v
		case it.KeyIs("delta"):
			delta = v
		case it.KeyIs("usage"):
			usageObj = v
		case it.KeyIs("error"):
			errObj = v
		}
	}
	if it.Err() != nil {
		return s.malformed(dst)
	}
	name := typ
	if rawjson.IsString(etype) {
		name = etype[1 : len(etype)-1]
	}
	switch string(name) {
	case "message_start":
		return s.messageStart(dst, message)
	case "content_block_start":
		return s.blockStart(dst, index, block)
	case "content_block_delta":
		return s.blockDelta(dst, index, delta)
	case "message_delta":
		return s.messageDelta(dst, delta, usageObj)
	case "message_stop":
		return s.finish(dst), nil
	case "error":
		s.done = true
		e := ParseAnthropicError(0, data)
		if errObj == nil {
			e.Message = "the provider reported an error"
		}
		return s.errorChunk(dst, e), nil
	}
	// ping, content_block_stop, and event types added to the API later.
	return dst, nil
}

// End is called when the provider's stream has ended (EOF or a read
// error). If the answer was complete it appends whatever the client still
// needs ([DONE], the usage chunk); otherwise it appends an error event and
// returns ErrStreamCut.
func (s *StreamToOpenAI) End(dst []byte) ([]byte, error) {
	switch {
	case s.done:
		return dst, nil
	case s.finished:
		return s.finish(dst), nil
	}
	s.done = true
	return s.errorChunk(dst, ProviderError{Class: ClassServer, Message: "the provider's stream ended before the answer was complete"}), ErrStreamCut
}

func (s *StreamToOpenAI) malformed(dst []byte) ([]byte, error) {
	s.done = true
	return s.errorChunk(dst, ProviderError{Class: ClassServer, Message: "the provider sent a malformed stream event"}), ErrMalformedEvent
}

func (s *StreamToOpenAI) errorChunk(dst []byte, e ProviderError) []byte {
	_, body := e.OpenAI()
	return sse.AppendData(dst, body)
}

// start builds the chunk prefix from the message's id and model.
func (s *StreamToOpenAI) start(id, model []byte) {
	s.started = true
	p := append(s.prefix[:0], `{"id":`...)
	if rawjson.IsString(id) {
		p = append(p, id...)
	} else {
		p = append(p, `""`...)
	}
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = rawjson.AppendInt(p, s.opt.created())
	p = append(p, `,"model":`...)
	switch {
	case s.opt.Model != "":
		p = jsonstr.Quote(p, s.opt.Model)
	case rawjson.IsString(model):
		p = append(p, model...)
	default:
		p = append(p, `""`...)
	}
	s.prefix = append(p, `,"choices":[`...)
}

// chunk appends a chunk whose single choice has the given delta and
// finish_reason (both JSON).
func (s *StreamToOpenAI) chunk(dst []byte, delta, finish []byte) []byte {
	if !s.started {
		s.start(nil, nil)
	}
	dst = append(dst, "data: "...)
	dst = append(dst, s.prefix...)
	dst = append(dst, `{"index":0,"delta":`...)
	dst = append(dst, delta...)
	dst = append(dst, `,"logprobs":null,"finish_reason":`...)
	dst = append(dst, finish...)
	dst = append(dst, '}', ']')
	if s.includeUsage {
		dst = append(dst, `,"usage":null`...)
	}
	return append(dst, "}\n\n"...)
}

var (
	jsonNull  = []byte("null")
	roleDelta = []byte(`{"role":"assistant","content":""}`)
	noDelta   = []byte(`{}`)
)

func (s *StreamToOpenAI) messageStart(dst, message []byte) ([]byte, error) {
	var id, model, u []byte
	it := rawjson.Object(message)
	for it.Next() {
		switch {
		case it.KeyIs("id"):
			id = it.Value()
		case it.KeyIs("model"):
			model = it.Value()
		case it.KeyIs("usage"):
			u = it.Value()
		}
	}
	if it.Err() != nil {
		return s.malformed(dst)
	}
	if !rawjson.IsNull(u) && s.a.Merge(u) {
		s.sawUsage = true
	}
	if s.started {
		return dst, nil // a second message_start: ignore
	}
	s.start(id, model)
	return s.chunk(dst, roleDelta, jsonNull), nil
}

// blockAt returns the info of block index (a JSON number), growing the
// table for a new index.
func (s *StreamToOpenAI) blockAt(index []byte, create bool) (*blockInfo, bool) {
	n, ok := rawjson.Int(index)
	if !ok || n < 0 || n >= maxToolCalls*4 {
		return nil, false
	}
	i := int(n)
	if i >= len(s.blocks) {
		if !create {
			return nil, false
		}
		for len(s.blocks) <= i {
			s.blocks = append(s.blocks, blockInfo{})
		}
	}
	return &s.blocks[i], true
}

func (s *StreamToOpenAI) blockStart(dst, index, block []byte) ([]byte, error) {
	b, ok := s.blockAt(index, true)
	if !ok {
		return s.malformed(dst)
	}
	var btype, id, name, input, text []byte
	it := rawjson.Object(block)
	for it.Next() {
		switch {
		case it.KeyIs("type"):
			btype = it.Value()
		case it.KeyIs("id"):
			id = it.Value()
		case it.KeyIs("name"):
			name = it.Value()
		case it.KeyIs("input"):
			input = it.Value()
		case it.KeyIs("text"):
			text = it.Value()
		}
	}
	if it.Err() != nil {
		return s.malformed(dst)
	}
	switch {
	case rawjson.StringIs(btype, "text"):
		b.kind = blockText
		if rawjson.IsString(text) && len(text) > 2 {
			return s.textChunk(dst, text), nil
		}
		return dst, nil
	case rawjson.StringIs(btype, "tool_use"):
		if s.tools >= maxToolCalls {
			return s.malformed(dst)
		}
		b.kind, b.tool = blockTool, s.tools
		s.tools++
		d := append(s.scratch[:0], `{"tool_calls":[{"index":`...)
		d = rawjson.AppendInt(d, int64(b.tool))
		d = append(d, `,"id":`...)
		d = appendString(d, id)
		d = append(d, `,"type":"function","function":{"name":`...)
		d = appendString(d, name)
		d = append(d, `,"arguments":`...)
		// The input arrives as input_json_delta pieces; a start that
		// already carries a non-empty input gets it as the first piece.
		if len(input) > 0 && input[0] == '{' && !emptyObject(input) {
			s.scratch2 = rawjson.AppendCompact(s.scratch2[:0], input)
			d = append(jsonstr.AppendBytes(append(d, '"'), s.scratch2), '"')
		} else {
			d = append(d, `""`...)
		}
		d = append(d, "}}]}"...)
		s.scratch = d
		return s.chunk(dst, d, jsonNull), nil
	}
	b.kind = blockSkip
	return dst, nil
}

func emptyObject(v []byte) bool {
	it := rawjson.Object(v)
	return !it.Next() && it.Err() == nil
}

// appendString appends v if it is a string literal, "" otherwise.
func appendString(dst, v []byte) []byte {
	if rawjson.IsString(v) {
		return append(dst, v...)
	}
	return append(dst, `""`...)
}

func (s *StreamToOpenAI) textChunk(dst, text []byte) []byte {
	d := append(s.scratch[:0], `{"content":`...)
	d = append(d, text...)
	d = append(d, '}')
	s.scratch = d
	return s.chunk(dst, d, jsonNull)
}

func (s *StreamToOpenAI) blockDelta(dst, index, delta []byte) ([]byte, error) {
	b, ok := s.blockAt(index, false)
	if !ok {
		return s.malformed(dst)
	}
	var dtype, text, partial []byte
	it := rawjson.Object(delta)
	for it.Next() {
		switch {
		case it.KeyIs("type"):
			dtype = it.Value()
		case it.KeyIs("text"):
			text = it.Value()
		case it.KeyIs("partial_json"):
			partial = it.Value()
		}
	}
	if it.Err() != nil {
		return s.malformed(dst)
	}
	switch {
	case b.kind == blockText && rawjson.StringIs(dtype, "text_delta"):
		if !rawjson.IsString(text) {
			return s.malformed(dst)
		}
		return s.textChunk(dst, text), nil
	case b.kind == blockTool && rawjson.StringIs(dtype, "input_json_delta"):
		if !rawjson.IsString(partial) {
			return s.malformed(dst)
		}
		if len(partial) == 2 {
			return dst, nil // an empty piece
		}
		d := append(s.scratch[:0], `{"tool_calls":[{"index":`...)
		d = rawjson.AppendInt(d, int64(b.tool))
		d = append(d, `,"function":{"arguments":`...)
		d = append(d, partial...)
		d = append(d, "}}]}"...)
		s.scratch = d
		return s.chunk(dst, d, jsonNull), nil
	}
	// thinking, signatures, citations: nothing an OpenAI client reads.
	return dst, nil
}

func (s *StreamToOpenAI) messageDelta(dst, delta, u []byte) ([]byte, error) {
	reason := rawjson.Get(delta, "stop_reason")
	if !rawjson.IsNull(u) && s.a.Merge(u) {
		s.sawUsage = true
	}
	if s.finished {
		return dst, nil
	}
	if !rawjson.IsString(reason) {
		return dst, nil // usage only; the stop reason comes later
	}
	s.stop = jsonstr.Quote(s.stop[:0], finishReasonOf(reason))
	s.finished = true
	return s.chunk(dst, noDelta, s.stop), nil
}

// finish ends the client's stream: the finish_reason chunk if it was not
// sent, the usage chunk if asked for, then [DONE].
func (s *StreamToOpenAI) finish(dst []byte) []byte {
	if !s.finished {
		s.finished = true
		s.stop = append(s.stop[:0], `"stop"`...)
		dst = s.chunk(dst, noDelta, s.stop)
	}
	if s.includeUsage {
		dst = append(dst, "data: "...)
		dst = append(dst, s.prefix...)
		dst = append(dst, `],"usage":`...)
		dst = appendOpenAIUsage(dst, s.a.Tokens())
		dst = append(dst, "}\n\n"...)
	}
	s.done = true
	return sse.AppendDone(dst)
}

// finishReasonOf is FinishReason for a JSON string literal.
func finishReasonOf(reason []byte) string {
	for _, r := range [...]string{"max_tokens", "model_context_window_exceeded", "tool_use", "refusal"} {
		if rawjson.StringIs(reason, r) {
			return FinishReason(r)
		}
	}
	return FinishReason("")
}

func appendOpenAIUsage(dst []byte, t usage.Tokens) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = rawjson.AppendInt(dst, t.Prompt)
	dst = append(dst, `,"completion_tokens":`...)
	dst = rawjson.AppendInt(dst, t.Completion)
	dst = append(dst, `,"total_tokens":`...)
	dst = rawjson.AppendInt(dst, t.Total)
	dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
	dst = rawjson.AppendInt(dst, t.CachedPrompt)
	if t.CacheWrite > 0 {
		dst = append(dst, `,"cache_write_tokens":`...)
		dst = rawjson.AppendInt(dst, t.CacheWrite)
	}
	return append(dst, "}}"...)
}
