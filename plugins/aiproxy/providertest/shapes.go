package providertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The helpers below build answers in each API's exact shape, as recorded
// from the providers, for tests to queue or to compare with.

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func openAIUsage(u Usage) map[string]any {
	return map[string]any{
		"prompt_tokens": u.Input, "completion_tokens": u.Output, "total_tokens": u.Input + u.Output,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.CacheRead, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
}

func anthropicUsage(u Usage) map[string]any {
	return map[string]any{
		"input_tokens": u.Input - u.CacheRead - u.CacheWrite, "output_tokens": u.Output,
		"cache_read_input_tokens": u.CacheRead, "cache_creation_input_tokens": u.CacheWrite,
	}
}

// OpenAIChat is a chat completion answering text.
func OpenAIChat(model, text string, u Usage) []byte {
	return mustJSON(map[string]any{
		"id": "chatcmpl-mock", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text, "refusal": nil},
			"logprobs": nil, "finish_reason": "stop"}},
		"usage": openAIUsage(u), "system_fingerprint": "fp_mock",
	})
}

// ToolCall is a tool call in an answer built by the helpers.
type ToolCall struct {
	ID, Name string
	// Arguments is the JSON of the arguments, streamed in two pieces.
	Arguments string
}

// OpenAIChatTools is a chat completion that calls tools.
func OpenAIChatTools(model string, calls []ToolCall, u Usage) []byte {
	var tcs []any
	for _, c := range calls {
		tcs = append(tcs, map[string]any{"id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": c.Arguments}})
	}
	return mustJSON(map[string]any{
		"id": "chatcmpl-mock", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": nil, "refusal": nil, "tool_calls": tcs},
			"logprobs": nil, "finish_reason": "tool_calls"}},
		"usage": openAIUsage(u),
	})
}

func openAIChunk(model string, delta map[string]any, finish any, withUsage bool) []byte {
	c := map[string]any{
		"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": model, "system_fingerprint": "fp_mock",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
	}
	if withUsage {
		c["usage"] = nil
	}
	return Event("", mustJSON(c))
}

// Event returns one SSE event: "event: typ\n" when typ is not empty, then
// "data: data\n\n".
func Event(typ string, data []byte) []byte {
	var b []byte
	if typ != "" {
		b = append(b, "event: "+typ+"\n"...)
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// OpenAIStream is a chat completion stream: the role chunk, one chunk per
// piece, the finish chunk, the usage chunk when u is not nil (the request
// asked for stream_options.include_usage), and data: [DONE].
func OpenAIStream(model string, pieces []string, u *Usage) [][]byte {
	withUsage := u != nil
	evs := [][]byte{openAIChunk(model, map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil, withUsage)}
	for _, p := range pieces {
		evs = append(evs, openAIChunk(model, map[string]any{"content": p}, nil, withUsage))
	}
	evs = append(evs, openAIChunk(model, map[string]any{}, "stop", withUsage))
	if u != nil {
		evs = append(evs, Event("", mustJSON(map[string]any{
			"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{}, "usage": openAIUsage(*u)})))
	}
	return append(evs, []byte("data: [DONE]\n\n"))
}

// OpenAIToolStream is a stream that calls tools, each call's arguments in
// two pieces.
func OpenAIToolStream(model string, calls []ToolCall, u *Usage) [][]byte {
	withUsage := u != nil
	evs := [][]byte{openAIChunk(model, map[string]any{"role": "assistant", "content": nil}, nil, withUsage)}
	for i, c := range calls {
		half := len(c.Arguments) / 2
		evs = append(evs,
			openAIChunk(model, map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": c.ID, "type": "function",
				"function": map[string]any{"name": c.Name, "arguments": ""}}}}, nil, withUsage),
			openAIChunk(model, map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": c.Arguments[:half]}}}}, nil, withUsage),
			openAIChunk(model, map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": c.Arguments[half:]}}}}, nil, withUsage))
	}
	evs = append(evs, openAIChunk(model, map[string]any{}, "tool_calls", withUsage))
	if u != nil {
		evs = append(evs, Event("", mustJSON(map[string]any{
			"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{}, "usage": openAIUsage(*u)})))
	}
	return append(evs, []byte("data: [DONE]\n\n"))
}

// Embeddings is an embeddings answer with n vectors of 3 numbers.
func Embeddings(model string, n int, u Usage) []byte {
	var data []any
	for i := 0; i < n; i++ {
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": []float64{0.1, -0.2, 0.3}})
	}
	return mustJSON(map[string]any{"object": "list", "data": data, "model": model,
		"usage": map[string]any{"prompt_tokens": u.Input, "total_tokens": u.Input}})
}

// AnthropicMessage is a messages answer with one text block.
func AnthropicMessage(model, text string, u Usage) []byte {
	return mustJSON(map[string]any{
		"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
		"content":     []any{map[string]any{"type": "text", "text": text}},
		"stop_reason": "end_turn", "stop_sequence": nil, "usage": anthropicUsage(u),
	})
}

// AnthropicMessageTools is a messages answer that uses tools.
func AnthropicMessageTools(model string, calls []ToolCall, u Usage) []byte {
	var content []any
	for _, c := range calls {
		content = append(content, map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": json.RawMessage(c.Arguments)})
	}
	return mustJSON(map[string]any{
		"id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": content,
		"stop_reason": "tool_use", "stop_sequence": nil, "usage": anthropicUsage(u),
	})
}

func anthropicStart(model string, u Usage) []byte {
	start := anthropicUsage(u)
	start["output_tokens"] = 1
	return Event("message_start", mustJSON(map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": start}}))
}

func anthropicEnd(stop string, u Usage) [][]byte {
	return [][]byte{
		Event("message_delta", mustJSON(map[string]any{"type": "message_delta",
			"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": u.Output}})),
		Event("message_stop", []byte(`{"type":"message_stop"}`)),
	}
}

// AnthropicStream is a messages stream: message_start (with the input
// usage), a ping, one text block with a delta per piece, message_delta
// (end_turn, output usage) and message_stop.
func AnthropicStream(model string, pieces []string, u Usage) [][]byte {
	evs := [][]byte{
		anthropicStart(model, u),
		Event("content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)),
		Event("ping", []byte(`{"type": "ping"}`)),
	}
	for _, p := range pieces {
		evs = append(evs, Event("content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": p}})))
	}
	evs = append(evs, Event("content_block_stop", []byte(`{"type":"content_block_stop","index":0}`)))
	return append(evs, anthropicEnd("end_turn", u)...)
}

// AnthropicToolStream is a messages stream that uses tools, each input
// in two input_json_delta pieces.
func AnthropicToolStream(model string, calls []ToolCall, u Usage) [][]byte {
	evs := [][]byte{anthropicStart(model, u)}
	for i, c := range calls {
		half := len(c.Arguments) / 2
		evs = append(evs,
			Event("content_block_start", mustJSON(map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": map[string]any{}}})),
			Event("content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": c.Arguments[:half]}})),
			Event("content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": c.Arguments[half:]}})),
			Event("content_block_stop", []byte(fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, i))))
	}
	return append(evs, anthropicEnd("tool_use", u)...)
}

// OpenAIError is an error answer in OpenAI's shape; code may be "".
func OpenAIError(status int, typ, code, message string) Reply {
	var c any
	if code != "" {
		c = code
	}
	return Reply{Status: status, Body: mustJSON(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": c}})}
}

// AnthropicError is an error answer in Anthropic's shape.
func AnthropicError(status int, typ, message string) Reply {
	return Reply{Status: status, Header: map[string]string{"request-id": "req_mock"},
		Body: mustJSON(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": message}, "request_id": "req_mock"})}
}

// AnthropicStreamError is the error event Anthropic sends inside a stream
// (overloaded_error, for one).
func AnthropicStreamError(typ, message string) []byte {
	return Event("error", mustJSON(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": message}}))
}

// OpenAIStreamError is the error chunk OpenAI sends inside a stream.
func OpenAIStreamError(typ, message string) []byte {
	return Event("", mustJSON(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": nil}}))
}

// RateLimited is a 429 in the kind's shape with the headers that say when
// to retry: retry-after (seconds), and OpenAI's x-ratelimit-reset-requests
// and x-ratelimit-reset-tokens (durations such as "1s", "6m0s") or
// Anthropic's anthropic-ratelimit-requests-reset and
// anthropic-ratelimit-tokens-reset (RFC 3339 times, now + reset).
func RateLimited(kind Kind, reset time.Duration, now time.Time) Reply {
	secs := int((reset + time.Second - 1) / time.Second)
	var r Reply
	if kind == Anthropic {
		r = AnthropicError(http.StatusTooManyRequests, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")
		at := now.Add(reset).UTC().Format(time.RFC3339)
		r.Header["anthropic-ratelimit-requests-reset"] = at
		r.Header["anthropic-ratelimit-tokens-reset"] = at
		r.Header["anthropic-ratelimit-requests-remaining"] = "0"
	} else {
		r = OpenAIError(http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in "+reset.String()+".")
		r.Header = map[string]string{
			"x-ratelimit-reset-requests":     reset.String(),
			"x-ratelimit-reset-tokens":       reset.String(),
			"x-ratelimit-remaining-requests": "0",
		}
	}
	r.Header["retry-after"] = strconv.Itoa(secs)
	return r
}
