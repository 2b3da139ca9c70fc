package translate

import (
	"bytes"

	"github.com/moongate/moongate/core/jsonstr"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
	"github.com/moongate/moongate/plugins/aiproxy/sse"
	"github.com/moongate/moongate/plugins/aiproxy/usage"
)

// StreamToAnthropic translates an OpenAI chunk stream into the event
// stream an Anthropic messages client expects, event by event:
//
//	first chunk            → message_start (usage 0: OpenAI reports it at the end)
//	delta.content          → content_block_start (text) when no text block is open, content_block_delta text_delta
//	delta.tool_calls[i]    → content_block_start (tool_use, id, name) for a new call, content_block_delta input_json_delta
//	finish_reason          → content_block_stop of the open block
//	usage chunk            → message_delta (stop_reason, usage), message_stop
//	[DONE]                 → message_delta and message_stop if not sent yet
//	{"error": ...}         → event: error; the stream ends
//
// Only message_delta waits: Anthropic puts the stop reason and the usage
// into that one event, and OpenAI sends the usage in the chunk after the
// finish reason, so message_delta goes out when the usage chunk (or
// [DONE]) arrives. All content is written as it comes. The provider
// request must ask for stream_options.include_usage (RequestToOpenAI
// does), or the usage is 0.
//
// A StreamToAnthropic is used by one stream at a time; Reset readies it
// for the next. It keeps its buffers, so a warm translator allocates
// nothing per event.
type StreamToAnthropic struct {
	opt      ResponseOptions
	started  bool
	open     int // index of the open content block, -1 when none
	openKind uint8
	next     int   // index of the next content block
	toolAt   []int // OpenAI tool call index → content block index + 1
	stop     string
	finished bool // a finish_reason arrived
	tokens   usage.Tokens
	sawUsage bool
	done     bool
	scratch  []byte
}

// NewStreamToAnthropic returns a translator for one stream.
func NewStreamToAnthropic(opt ResponseOptions) *StreamToAnthropic {
	s := &StreamToAnthropic{}
	s.Reset(opt)
	return s
}

// Reset readies s for a new stream, keeping its buffers.
func (s *StreamToAnthropic) Reset(opt ResponseOptions) {
	*s = StreamToAnthropic{opt: opt, open: -1, toolAt: s.toolAt[:0], scratch: s.scratch[:0]}
}

// Done reports whether the client's stream is complete (message_stop or
// an error event was written).
func (s *StreamToAnthropic) Done() bool { return s.done }

// Usage returns the usage the provider reported.
func (s *StreamToAnthropic) Usage() (usage.Tokens, bool) { return s.tokens, s.sawUsage }

// Event translates one provider chunk (its SSE data; the event type is
// not used by OpenAI) and appends the resulting SSE events to dst. Blocks
// without data (comments, keep-alives) and empty data are ignored. On a
// malformed chunk it appends an error event for the client, ends the
// stream and returns ErrMalformedEvent with dst.
func (s *StreamToAnthropic) Event(dst, _, data []byte) ([]byte, error) {
	if s.done || len(bytes.TrimSpace(data)) == 0 {
		return dst, nil
	}
	if sse.IsDone(data) {
		if !s.started {
			dst = s.start(dst, nil, nil)
		}
		return s.complete(dst), nil
	}
	var id, model, choices, u, errObj []byte
	it := rawjson.Object(data)
	for it.Next() {
		switch v := it.Value(); {
		case it.KeyIs("id"):
			id = v
		case it.KeyIs("model"):
			model = v
		case it.KeyIs("choices"):
			choices = v
		case it.KeyIs("usage"):
			u = v
		case it.KeyIs("error"):
			errObj = v
		}
	}
	if it.Err() != nil {
		return s.malformed(dst)
	}
	if !rawjson.IsNull(errObj) {
		s.done = true
		return s.errorEvent(dst, ParseOpenAIError(0, data)), nil
	}
	if !s.started {
		if rawjson.IsNull(u) && !hasElements(choices) {
			// A chunk with nothing in it, such as Azure's first one
			// (prompt_filter_results, empty id and model): start with
			// the next.
			return dst, nil
		}
		dst = s.start(dst, id, model)
	}
	if !rawjson.IsNull(choices) {
		ch := rawjson.Array(choices)
		for ch.Next() {
			var err error
			if dst, err = s.choice(dst, ch.Value()); err != nil {
				return dst, err
			}
		}
		if ch.Err() != nil {
			return s.malformed(dst)
		}
	}
	if !rawjson.IsNull(u) {
		if t, ok := usage.OpenAIUsage(u); ok {
			s.tokens, s.sawUsage = t, true
		}
		if s.finished {
			return s.complete(dst), nil
		}
	}
	return dst, nil
}

// End is called when the provider's stream has ended. If the answer was
// complete (a finish reason arrived) it appends the closing events;
// otherwise an error event, and returns ErrStreamCut.
func (s *StreamToAnthropic) End(dst []byte) ([]byte, error) {
	switch {
	case s.done:
		return dst, nil
	case s.finished:
		return s.complete(dst), nil
	}
	s.done = true
	return s.errorEvent(dst, ProviderError{Class: ClassServer, Message: "the provider's stream ended before the answer was complete"}), ErrStreamCut
}

func (s *StreamToAnthropic) malformed(dst []byte) ([]byte, error) {
	s.done = true
	return s.errorEvent(dst, ProviderError{Class: ClassServer, Message: "the provider sent a malformed stream event"}), ErrMalformedEvent
}

func (s *StreamToAnthropic) errorEvent(dst []byte, e ProviderError) []byte {
	_, body := e.Anthropic()
	return sse.AppendEvent(dst, "error", body)
}

func beginEvent(dst []byte, name string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	return append(dst, "\ndata: "...)
}

func endEvent(dst []byte) []byte { return append(dst, '\n', '\n') }

func (s *StreamToAnthropic) start(dst, id, model []byte) []byte {
	s.started = true
	dst = beginEvent(dst, "message_start")
	dst = append(dst, `{"type":"message_start","message":{"id":`...)
	dst = appendString(dst, id)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	if s.opt.Model != "" {
		dst = jsonstr.Quote(dst, s.opt.Model)
	} else {
		dst = appendString(dst, model)
	}
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}`...)
	return endEvent(dst)
}

// choice handles one element of a chunk's choices; only choice 0 is
// translated (an Anthropic message has one answer).
func (s *StreamToAnthropic) choice(dst, choice []byte) ([]byte, error) {
	var index, delta, finish []byte
	it := rawjson.Object(choice)
	for it.Next() {
		switch v := it.Value(); {
		case it.KeyIs("index"):
			index = v
		case it.KeyIs("delta"):
			delta = v
		case it.KeyIs("finish_reason"):
			finish = v
		}
	}
	if it.Err() != nil {
		return s.malformed(dst)
	}
	if n, ok := rawjson.Int(index); ok && n != 0 {
		return dst, nil
	}
	if !rawjson.IsNull(delta) {
		var content, refusal, toolCalls []byte
		d := rawjson.Object(delta)
		for d.Next() {
			switch v := d.Value(); {
			case d.KeyIs("content"):
				content = v
			case d.KeyIs("refusal"):
				refusal = v
			case d.KeyIs("tool_calls"):
				toolCalls = v
			}
		}
		if d.Err() != nil {
			return s.malformed(dst)
		}
		if rawjson.IsString(content) && len(content) > 2 {
			dst = s.text(dst, content)
		}
		if rawjson.IsString(refusal) && len(refusal) > 2 {
			dst = s.text(dst, refusal)
		}
		if !rawjson.IsNull(toolCalls) {
			tc := rawjson.Array(toolCalls)
			for tc.Next() {
				var err error
				if dst, err = s.toolCall(dst, tc.Value()); err != nil {
					return dst, err
				}
			}
			if tc.Err() != nil {
				return s.malformed(dst)
			}
		}
	}
	if rawjson.IsString(finish) && !s.finished {
		s.finished = true
		s.stop = stopReasonOf(finish)
		dst = s.closeOpen(dst)
	}
	return dst, nil
}

func hasElements(array []byte) bool {
	if rawjson.IsNull(array) || array[0] != '[' {
		return false
	}
	it := rawjson.Array(array)
	return it.Next()
}

// stopReasonOf is StopReason for a JSON string literal.
func stopReasonOf(finish []byte) string {
	for _, f := range [...]string{"length", "tool_calls", "function_call", "content_filter"} {
		if rawjson.StringIs(finish, f) {
			return StopReason(f)
		}
	}
	return StopReason("")
}

func (s *StreamToAnthropic) closeOpen(dst []byte) []byte {
	if s.open < 0 {
		return dst
	}
	dst = beginEvent(dst, "content_block_stop")
	dst = append(dst, `{"type":"content_block_stop","index":`...)
	dst = rawjson.AppendInt(dst, int64(s.open))
	dst = append(dst, '}')
	s.open = -1
	return endEvent(dst)
}

func (s *StreamToAnthropic) text(dst, text []byte) []byte {
	if s.open < 0 || s.openKind != blockText {
		dst = s.closeOpen(dst)
		s.open, s.openKind = s.next, blockText
		s.next++
		dst = beginEvent(dst, "content_block_start")
		dst = append(dst, `{"type":"content_block_start","index":`...)
		dst = rawjson.AppendInt(dst, int64(s.open))
		dst = append(dst, `,"content_block":{"type":"text","text":""}}`...)
		dst = endEvent(dst)
	}
	dst = beginEvent(dst, "content_block_delta")
	dst = append(dst, `{"type":"content_block_delta","index":`...)
	dst = rawjson.AppendInt(dst, int64(s.open))
	dst = append(dst, `,"delta":{"type":"text_delta","text":`...)
	dst = append(dst, text...)
	dst = append(dst, "}}"...)
	return endEvent(dst)
}

func (s *StreamToAnthropic) toolCall(dst, call []byte) ([]byte, error) {
	var index, id, fn []byte
	it := rawjson.Object(call)
	for it.Next() {
		switch v := it.Value(); {
		case it.KeyIs("index"):
			index = v
		case it.KeyIs("id"):
			id = v
		case it.KeyIs("function"):
			fn = v
		}
	}
	if it.Err() != nil {
		return s.malformed(dst)
	}
	var name, args []byte
	f := rawjson.Object(fn)
	for !rawjson.IsNull(fn) && f.Next() {
		switch {
		case f.KeyIs("name"):
			name = f.Value()
		case f.KeyIs("arguments"):
			args = f.Value()
		}
	}
	if f.Err() != nil {
		return s.malformed(dst)
	}
	i := int64(0)
	if index != nil {
		n, ok := rawjson.Int(index)
		if !ok || n < 0 || n >= maxToolCalls {
			return s.malformed(dst)
		}
		i = n
	}
	for int64(len(s.toolAt)) <= i {
		s.toolAt = append(s.toolAt, 0)
	}
	block := s.toolAt[i] - 1
	if block < 0 {
		dst = s.closeOpen(dst)
		block = s.next
		s.next++
		s.toolAt[i] = block + 1
		s.open, s.openKind = block, blockTool
		dst = beginEvent(dst, "content_block_start")
		dst = append(dst, `{"type":"content_block_start","index":`...)
		dst = rawjson.AppendInt(dst, int64(block))
		dst = append(dst, `,"content_block":{"type":"tool_use","id":`...)
		if rawjson.IsString(id) && len(id) > 2 {
			dst = append(dst, id...)
		} else {
			// Some OpenAI-compatible servers leave the id out.
			dst = append(dst, `"call_`...)
			dst = rawjson.AppendInt(dst, i)
			dst = append(dst, '"')
		}
		dst = append(dst, `,"name":`...)
		dst = appendString(dst, name)
		dst = append(dst, `,"input":{}}}`...)
		dst = endEvent(dst)
	}
	if rawjson.IsString(args) && len(args) > 2 {
		// A piece for a call whose block was closed (calls interleaved)
		// still goes to that block's index: the SDKs add it by index.
		dst = beginEvent(dst, "content_block_delta")
		dst = append(dst, `{"type":"content_block_delta","index":`...)
		dst = rawjson.AppendInt(dst, int64(block))
		dst = append(dst, `,"delta":{"type":"input_json_delta","partial_json":`...)
		dst = append(dst, args...)
		dst = append(dst, "}}"...)
		dst = endEvent(dst)
	}
	return dst, nil
}

// complete appends message_delta and message_stop.
func (s *StreamToAnthropic) complete(dst []byte) []byte {
	dst = s.closeOpen(dst)
	stop := s.stop
	if stop == "" {
		stop = StopReason("")
	}
	a := usage.AnthropicOf(s.tokens)
	dst = beginEvent(dst, "message_delta")
	dst = append(dst, `{"type":"message_delta","delta":{"stop_reason":"`...)
	dst = append(dst, stop...)
	dst = append(dst, `","stop_sequence":null},"usage":{"input_tokens":`...)
	dst = rawjson.AppendInt(dst, a.Input)
	dst = append(dst, `,"output_tokens":`...)
	dst = rawjson.AppendInt(dst, a.Output)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = rawjson.AppendInt(dst, a.CacheRead)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = rawjson.AppendInt(dst, a.CacheWrite)
	dst = append(dst, "}}"...)
	dst = endEvent(dst)
	dst = beginEvent(dst, "message_stop")
	dst = append(dst, `{"type":"message_stop"}`...)
	s.done = true
	return endEvent(dst)
}
