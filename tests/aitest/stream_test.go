package aitest

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

const streamChat = `{"model":"%s","stream":true,"messages":[{"role":"user","content":"Hi"}]}`
const streamChatUsage = `{"model":"%s","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`
const streamMessages = `{"model":"%s","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`

// openAIText returns the content of an OpenAI stream's chunks, joined,
// and the usage chunks it holds.
func openAIText(t *testing.T, evs []sseEvent) (text string, usages []map[string]any, done bool) {
	t.Helper()
	for _, ev := range evs {
		if ev.data == "[DONE]" {
			done = true
			continue
		}
		var ch struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Usage map[string]any `json:"usage"`
		}
		if err := json.Unmarshal([]byte(ev.data), &ch); err != nil || ch.Object != "chat.completion.chunk" {
			t.Fatalf("not a chunk: %s", ev.data)
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != nil {
			text += *ch.Choices[0].Delta.Content
		}
		if ch.Usage != nil {
			usages = append(usages, ch.Usage)
		}
	}
	return text, usages, done
}

// anthropicText returns the text of an Anthropic stream, the types of its
// events in order, and the usage of message_delta.
func anthropicText(t *testing.T, evs []sseEvent) (text string, types []string, input, output float64) {
	t.Helper()
	for _, ev := range evs {
		types = append(types, ev.typ)
		var m map[string]any
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil || m["type"] != ev.typ {
			t.Fatalf("event %q: %s", ev.typ, ev.data)
		}
		switch ev.typ {
		case "content_block_delta":
			if d := m["delta"].(map[string]any); d["type"] == "text_delta" {
				text += d["text"].(string)
			}
		case "message_start":
			input = field(t, m, "message", "usage", "input_tokens").(float64)
		case "message_delta":
			u := m["usage"].(map[string]any)
			output = u["output_tokens"].(float64)
			if x, ok := u["input_tokens"].(float64); ok && x > 0 {
				input = x
			}
		}
	}
	return text, types, input, output
}

var allText = strings.Join(providertest.DefaultPieces, "")

// OpenAI on OpenAI: the stream passes byte for byte, usage chunk
// included when the client asked for it. When it did not, the gateway
// still asked the provider (to count tokens) and drops the chunk.
func TestStreamOpenAIPassThrough(t *testing.T) {
	e := start(t, defaultModels)
	r := e.chat(t, body(streamChatUsage, "gpt-4o"))
	want := strings.Join(func() []string {
		var s []string
		for _, ev := range providertest.OpenAIStream("gpt-4o-2024-08-06", providertest.DefaultPieces, &providertest.DefaultUsage) {
			s = append(s, string(ev))
		}
		return s
	}(), "")
	if r.status != 200 || string(r.body) != want || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d %v\n got %s\nwant %s", r.status, r.header, r.body, want)
	}
	e.oa.WaitHandled(t, 5e9)

	r = e.chat(t, body(streamChat, "gpt-4o"))
	text, usages, done := openAIText(t, events(t, r.body))
	if text != allText || len(usages) != 0 || !done {
		t.Fatalf("text %q, %d usage chunks (want none: not asked), done %v", text, len(usages), done)
	}
	var sent map[string]any
	e.oa.WaitHandled(t, 5e9).JSON(t, &sent)
	if field(t, sent, "stream_options", "include_usage") != true {
		t.Fatalf("the gateway did not ask the provider for usage: %v", sent)
	}
}

// An OpenAI client on an Anthropic model, streamed: chunks, exactly one
// usage chunk with the right numbers when asked, none otherwise, [DONE].
func TestStreamOpenAIClientAnthropicProvider(t *testing.T) {
	e := start(t, defaultModels)
	r := e.chat(t, body(streamChatUsage, "gpt-via-claude"))
	text, usages, done := openAIText(t, events(t, r.body))
	if r.status != 200 || text != allText || !done {
		t.Fatalf("status %d text %q done %v: %s", r.status, text, done, r.body)
	}
	if len(usages) != 1 || usages[0]["prompt_tokens"] != 12.0 || usages[0]["completion_tokens"] != 5.0 || usages[0]["total_tokens"] != 17.0 {
		t.Fatalf("usage chunks %v, want exactly one with 12 + 5 = 17", usages)
	}
	r = e.chat(t, body(streamChat, "gpt-via-claude"))
	if _, usages, _ := openAIText(t, events(t, r.body)); len(usages) != 0 {
		t.Fatalf("usage chunks %v without include_usage", usages)
	}
}

// An Anthropic client on an OpenAI model, streamed: Anthropic's event
// sequence with the final usage in message_delta.
func TestStreamAnthropicClientOpenAIProvider(t *testing.T) {
	e := start(t, defaultModels)
	r := e.messages(t, body(streamMessages, "claude-via-gpt"))
	text, types, input, output := anthropicText(t, events(t, r.body))
	if r.status != 200 || text != allText {
		t.Fatalf("status %d text %q: %s", r.status, text, r.body)
	}
	if types[0] != "message_start" || types[len(types)-1] != "message_stop" || types[len(types)-2] != "message_delta" {
		t.Fatalf("event types %v", types)
	}
	if input != 12 || output != 5 {
		t.Fatalf("usage %v in, %v out; want 12, 5", input, output)
	}
	var sent map[string]any
	e.oa.WaitHandled(t, 5e9).JSON(t, &sent)
	if sent["stream"] != true || field(t, sent, "stream_options", "include_usage") != true {
		t.Fatalf("provider request %v", sent)
	}
}

// Anthropic on Anthropic: byte for byte.
func TestStreamAnthropicPassThrough(t *testing.T) {
	e := start(t, defaultModels)
	r := e.messages(t, body(streamMessages, "claude-sonnet"))
	var want string
	for _, ev := range providertest.AnthropicStream("claude-sonnet-4-5", providertest.DefaultPieces, providertest.DefaultUsage) {
		want += string(ev)
	}
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("status %d\n got %s\nwant %s", r.status, r.body, want)
	}
}

// Events cut anywhere (inside a UTF-8 character, between CR and LF,
// before the blank line) arrive whole, in every direction.
func TestStreamSplitEvents(t *testing.T) {
	e := start(t, defaultModels)
	split := providertest.Reply{Split: providertest.SplitInRunes}
	for _, tc := range []struct{ model, path string }{
		{"gpt-4o", "/v1/chat/completions"}, {"gpt-via-claude", "/v1/chat/completions"},
		{"claude-sonnet", "/v1/messages"}, {"claude-via-gpt", "/v1/messages"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			var text string
			if tc.path == "/v1/messages" {
				rep := split
				if tc.model == "claude-sonnet" {
					rep.Events = crlf(providertest.AnthropicStream("claude-sonnet-4-5", providertest.DefaultPieces, providertest.DefaultUsage))
					e.an.Enqueue(rep)
				} else {
					rep.Events = crlf(providertest.OpenAIStream("gpt-4o-mini", providertest.DefaultPieces, &providertest.DefaultUsage))
					e.oa.Enqueue(rep)
				}
				r := e.messages(t, body(streamMessages, tc.model))
				text, _, _, _ = anthropicText(t, events(t, r.body))
			} else {
				rep := split
				if tc.model == "gpt-4o" {
					rep.Events = crlf(providertest.OpenAIStream("gpt-4o-2024-08-06", providertest.DefaultPieces, &providertest.DefaultUsage))
					e.oa.Enqueue(rep)
				} else {
					rep.Events = crlf(providertest.AnthropicStream("claude-haiku-4-5", providertest.DefaultPieces, providertest.DefaultUsage))
					e.an.Enqueue(rep)
				}
				r := e.chat(t, body(streamChatUsage, tc.model))
				text, _, _ = openAIText(t, events(t, r.body))
			}
			if text != allText {
				t.Fatalf("text %q, want %q", text, allText)
			}
		})
	}
}

// crlf rewrites events with CRLF line ends, as some servers send them.
func crlf(evs [][]byte) [][]byte {
	out := make([][]byte, len(evs))
	for i, ev := range evs {
		out[i] = []byte(strings.ReplaceAll(string(ev), "\n", "\r\n"))
	}
	return out
}

// Streamed tool calls, both ways: the arguments arrive in pieces and add
// up to the provider's.
func TestStreamToolCalls(t *testing.T) {
	e := start(t, defaultModels)
	calls := []providertest.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}
	e.an.Enqueue(providertest.Reply{Events: providertest.AnthropicToolStream("claude-haiku-4-5", calls, providertest.DefaultUsage)})
	r := e.chat(t, body(streamChatUsage, "gpt-via-claude"))
	var args, name, finish string
	for _, ev := range events(t, r.body) {
		if ev.data == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct {
				Delta struct {
					ToolCalls []struct {
						Function struct{ Name, Arguments string } `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		json.Unmarshal([]byte(ev.data), &ch)
		for _, c := range ch.Choices {
			for _, tc := range c.Delta.ToolCalls {
				args += tc.Function.Arguments
				name += tc.Function.Name
			}
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
	}
	if name != "get_weather" || args != calls[0].Arguments || finish != "tool_calls" {
		t.Fatalf("tool call %q(%q) finish %q: %s", name, args, finish, r.body)
	}

	e.oa.Enqueue(providertest.Reply{Events: providertest.OpenAIToolStream("gpt-4o-mini", calls, &providertest.DefaultUsage)})
	r = e.messages(t, body(streamMessages, "claude-via-gpt"))
	args, name = "", ""
	stop := ""
	for _, ev := range events(t, r.body) {
		var m map[string]any
		json.Unmarshal([]byte(ev.data), &m)
		switch ev.typ {
		case "content_block_start":
			if cb := m["content_block"].(map[string]any); cb["type"] == "tool_use" {
				name = cb["name"].(string)
			}
		case "content_block_delta":
			if d := m["delta"].(map[string]any); d["type"] == "input_json_delta" {
				args += d["partial_json"].(string)
			}
		case "message_delta":
			stop, _ = field(t, m, "delta", "stop_reason").(string)
		}
	}
	if name != "get_weather" || args != calls[0].Arguments || stop != "tool_use" {
		t.Fatalf("tool use %q(%q) stop %q: %s", name, args, stop, r.body)
	}
}

// Incremental delivery: the provider sends its events one at a time,
// each only when the test releases it (the mock's Gate); the test
// releases the next event only once the client has received the text of
// the one before. If the gateway held events back (buffering the answer,
// or waiting for more bytes), the client would wait for an event that is
// never released and the test would fail at its deadline. No timing is
// measured.
func TestStreamIncremental(t *testing.T) {
	e := start(t, defaultModels)
	for _, tc := range []struct{ model, path string }{
		{"gpt-4o", "/v1/chat/completions"}, {"gpt-via-claude", "/v1/chat/completions"},
		{"claude-sonnet", "/v1/messages"}, {"claude-via-gpt", "/v1/messages"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			gate := make(chan struct{})
			var evs [][]byte
			mock := e.oa
			switch tc.model {
			case "gpt-4o":
				evs = providertest.OpenAIStream("gpt-4o-2024-08-06", providertest.DefaultPieces, &providertest.DefaultUsage)
			case "claude-via-gpt":
				evs = providertest.OpenAIStream("gpt-4o-mini", providertest.DefaultPieces, &providertest.DefaultUsage)
			case "gpt-via-claude":
				mock = e.an
				evs = providertest.AnthropicStream("claude-haiku-4-5", providertest.DefaultPieces, providertest.DefaultUsage)
			default:
				mock = e.an
				evs = providertest.AnthropicStream("claude-sonnet-4-5", providertest.DefaultPieces, providertest.DefaultUsage)
			}
			mock.Enqueue(providertest.Reply{Events: evs, Gate: gate})
			b := body(streamChatUsage, tc.model)
			h := openaiHeaders(clientKey)
			if tc.path == "/v1/messages" {
				b, h = body(streamMessages, tc.model), anthropicHeaders(clientKey)
			}
			resp := e.open(t, "POST", tc.path, h, b)
			defer resp.Body.Close()
			texts := make(chan string, 64)
			go func() {
				defer close(texts)
				r := newEventReader(resp.Body)
				for {
					ev, ok := r.next()
					if !ok {
						return
					}
					if s := eventText(ev); s != "" {
						texts <- s
					}
				}
			}()
			for i, ev := range evs {
				piece := pieceOf(ev)
				if piece != "" {
					select {
					case got := <-texts:
						if got != piece {
							t.Fatalf("event %d: client got %q, want %q", i, got, piece)
						}
					case <-time.After(5 * time.Second):
						t.Fatalf("the client did not get %q before the next provider event was released: the gateway held it back", piece)
					}
				}
				if i+1 < len(evs) {
					select {
					case gate <- struct{}{}:
					case <-time.After(5 * time.Second):
						t.Fatalf("the provider mock did not ask for event %d", i+1)
					}
				}
			}
			for range texts {
			}
			mock.WaitHandled(t, 5*time.Second)
		})
	}
}

// The provider's streamed answer is read to its end, also when the
// client's answer is complete first: an Anthropic client served by an
// OpenAI model has its message_stop with OpenAI's usage chunk, before
// OpenAI's "data: [DONE]". The provider's request is not cut short (the
// mock sees no cancellation) and its connection serves the next request
// (the mock accepts one connection for two answers). The provider holds
// its last event (Gate) until the client has its whole answer, so the
// gateway cannot read it early by chance.
func TestStreamReadsTheProviderAnswerToItsEnd(t *testing.T) {
	for _, tc := range []struct{ model, path string }{
		{"gpt-4o", "/v1/chat/completions"}, {"gpt-via-claude", "/v1/chat/completions"},
		{"claude-sonnet", "/v1/messages"}, {"claude-via-gpt", "/v1/messages"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			e := start(t, defaultModels)
			mock, evs := e.oa, providertest.OpenAIStream("gpt-4o-mini", providertest.DefaultPieces, &providertest.DefaultUsage)
			if tc.model == "gpt-via-claude" || tc.model == "claude-sonnet" {
				mock, evs = e.an, providertest.AnthropicStream("claude-sonnet-4-5", providertest.DefaultPieces, providertest.DefaultUsage)
			}
			b, h := body(streamChatUsage, tc.model), openaiHeaders(clientKey)
			final := func(ev sseEvent) bool { return ev.data == "[DONE]" }
			if tc.path == "/v1/messages" {
				b, h = body(streamMessages, tc.model), anthropicHeaders(clientKey)
				final = func(ev sseEvent) bool { return ev.typ == "message_stop" }
			}
			// early: the client's answer is complete before the
			// provider's last event.
			early := tc.model == "claude-via-gpt"

			gate := make(chan struct{})
			mock.Enqueue(providertest.Reply{Events: evs, Gate: gate})
			resp := e.open(t, "POST", tc.path, h, b)
			defer resp.Body.Close()
			got := make(chan sseEvent, 64)
			go func() {
				defer close(got)
				r := newEventReader(resp.Body)
				for {
					ev, ok := r.next()
					if !ok {
						return
					}
					got <- ev
				}
			}()
			release := func(i int) {
				select {
				case gate <- struct{}{}:
				case <-time.After(5 * time.Second):
					t.Fatalf("the provider mock did not ask for event %d", i)
				}
			}
			last := len(evs) - 1
			for i := 1; i < last; i++ {
				release(i)
			}
			if !early {
				release(last)
			}
			complete := false
			for !complete {
				select {
				case ev, ok := <-got:
					if !ok {
						t.Fatal("the client's answer ended before its last event")
					}
					complete = final(ev)
				case <-time.After(5 * time.Second):
					t.Fatal("the client did not get its last event")
				}
			}
			var handled *providertest.Request
			if early {
				// The gateway has the client's whole answer: it must
				// still wait for the provider's last event.
				select {
				case gate <- struct{}{}:
				case r := <-mock.Handled():
					handled = &r
				}
			}
			for range got {
			}
			if handled == nil {
				r := mock.WaitHandled(t, 5*time.Second)
				handled = &r
			}
			if handled.Canceled {
				t.Error("the provider's request was canceled: the gateway closed its answer before the end")
			}

			// The next answer comes on the same provider connection.
			mock.Enqueue(providertest.Reply{Events: evs})
			r := e.open(t, "POST", tc.path, h, b)
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			mock.WaitHandled(t, 5*time.Second)
			if n := mock.Conns(); n != 1 {
				t.Errorf("the provider accepted %d connections for two answers, want 1: its connection was closed after the first", n)
			}
		})
	}
}

// pieceOf returns which of the default pieces a provider event carries.
func pieceOf(ev []byte) string {
	for _, p := range providertest.DefaultPieces {
		b, _ := json.Marshal(p)
		if strings.Contains(string(ev), `"content":`+string(b)) || strings.Contains(string(ev), `"text":`+string(b)) {
			return p
		}
	}
	return ""
}

// eventText returns the text a client event carries, "" for none.
func eventText(ev sseEvent) string {
	var m struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
		Delta struct {
			Type, Text string
		} `json:"delta"`
	}
	if json.Unmarshal([]byte(ev.data), &m) != nil {
		return ""
	}
	if len(m.Choices) > 0 {
		return m.Choices[0].Delta.Content
	}
	return m.Delta.Text
}
