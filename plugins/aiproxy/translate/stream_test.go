package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/moongate/moongate/plugins/aiproxy/anthropic"
	"github.com/moongate/moongate/plugins/aiproxy/openai"
	"github.com/moongate/moongate/plugins/aiproxy/sse"
)

var update = flag.Bool("update", false, "rewrite the golden files of the stream tests")

// streamTranslator is what both stream translators have in common.
type streamTranslator interface {
	Event(dst, typ, data []byte) ([]byte, error)
	End(dst []byte) ([]byte, error)
	Done() bool
}

// runStream reads a provider stream from src and translates it event by
// event. It returns the whole output, the output of each input event
// (index-aligned with the input events' data), and End's error.
func runStream(t testing.TB, tr streamTranslator, src io.Reader) (out []byte, inputs []string, perEvent []string, endErr error) {
	r := sse.NewReader(src, 0)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !ev.HasData {
			continue
		}
		n := len(out)
		out, err = tr.Event(out, ev.Type, ev.Data)
		if err != nil {
			t.Logf("event %q: %v", ev.Data, err)
		}
		inputs = append(inputs, string(ev.Data))
		perEvent = append(perEvent, string(out[n:]))
	}
	out, endErr = tr.End(out)
	return out, inputs, perEvent, endErr
}

func readTestdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// openAIClient is what an OpenAI SDK assembles from a chunk stream.
type openAIClient struct {
	ID, Model   string
	Text        string
	Tools       []openai.ToolCall
	Finish      string
	Usage       *openai.Usage
	UsageChunks int
	Done        bool
	Errors      []openai.Error
}

func readOpenAIClient(t *testing.T, stream []byte) openAIClient {
	t.Helper()
	var c openAIClient
	r := sse.NewReader(bytes.NewReader(stream), 0)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return c
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Done {
			t.Fatalf("event after [DONE]: %q", ev.Raw)
		}
		if len(ev.Type) != 0 {
			t.Fatalf("OpenAI streams have no event types, got %q", ev.Type)
		}
		if sse.IsDone(ev.Data) {
			c.Done = true
			continue
		}
		if !json.Valid(ev.Data) {
			t.Fatalf("invalid JSON in %q", ev.Data)
		}
		var e openai.ErrorResponse
		if json.Unmarshal(ev.Data, &e) == nil && e.Error.Message != "" {
			c.Errors = append(c.Errors, e.Error)
			continue
		}
		var ch openai.ChatChunk
		if err := json.Unmarshal(ev.Data, &ch); err != nil {
			t.Fatalf("chunk %q: %v", ev.Data, err)
		}
		if ch.Object != "chat.completion.chunk" {
			t.Fatalf("object %q", ch.Object)
		}
		if c.ID == "" {
			c.ID, c.Model = ch.ID, ch.Model
		} else if ch.ID != c.ID || ch.Model != c.Model {
			t.Fatalf("id/model changed within the stream: %q %q", ch.ID, ch.Model)
		}
		if ch.Usage != nil {
			c.UsageChunks++
			c.Usage = ch.Usage
			if len(ch.Choices) != 0 {
				t.Fatalf("the usage chunk has choices: %q", ev.Data)
			}
		}
		for _, choice := range ch.Choices {
			if choice.Delta.Content != nil {
				c.Text += *choice.Delta.Content
			}
			for _, tc := range choice.Delta.ToolCalls {
				for len(c.Tools) <= tc.Index {
					c.Tools = append(c.Tools, openai.ToolCall{})
				}
				dst := &c.Tools[tc.Index]
				if tc.ID != "" {
					dst.ID, dst.Type = tc.ID, tc.Type
				}
				if tc.Function != nil {
					dst.Function.Name += tc.Function.Name
					dst.Function.Arguments += tc.Function.Arguments
				}
			}
			if choice.FinishReason != nil {
				if c.Finish != "" {
					t.Fatalf("second finish_reason %q", *choice.FinishReason)
				}
				c.Finish = *choice.FinishReason
			}
		}
	}
}

// anthropicClient is what an Anthropic SDK assembles from an event
// stream, with the protocol's order checked on the way.
type anthropicClient struct {
	ID, Model  string
	Blocks     []anthropic.Block // tool inputs as accumulated partial JSON
	StopReason string
	Usage      anthropic.Usage
	Stopped    bool
	Error      *anthropic.Error
}

func (c anthropicClient) text() string {
	var b strings.Builder
	for _, blk := range c.Blocks {
		if blk.Type == "text" {
			b.WriteString(blk.Text)
		}
	}
	return b.String()
}

func readAnthropicClient(t *testing.T, stream []byte) anthropicClient {
	t.Helper()
	var c anthropicClient
	started, deltaSeen := false, false
	open := -1
	r := sse.NewReader(bytes.NewReader(stream), 0)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			if !c.Stopped && c.Error == nil {
				t.Fatalf("stream ended without message_stop or error")
			}
			return c
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Stopped || c.Error != nil {
			t.Fatalf("event after the end: %q", ev.Raw)
		}
		var head struct {
			Type  string `json:"type"`
			Index int    `json:"index"`
		}
		if err := json.Unmarshal(ev.Data, &head); err != nil {
			t.Fatalf("invalid JSON in %q", ev.Data)
		}
		if string(ev.Type) != head.Type {
			t.Fatalf("event %q carries data of type %q", ev.Type, head.Type)
		}
		if !started && head.Type != "message_start" && head.Type != "error" {
			t.Fatalf("first event is %q", head.Type)
		}
		switch head.Type {
		case "message_start":
			var e anthropic.MessageStartEvent
			must(t, json.Unmarshal(ev.Data, &e))
			if started {
				t.Fatal("second message_start")
			}
			started = true
			c.ID, c.Model, c.Usage = e.Message.ID, e.Message.Model, e.Message.Usage
		case "content_block_start":
			var e anthropic.ContentBlockStartEvent
			must(t, json.Unmarshal(ev.Data, &e))
			if open >= 0 || e.Index != len(c.Blocks) || deltaSeen {
				t.Fatalf("content_block_start %d while block %d is open, %d blocks", e.Index, open, len(c.Blocks))
			}
			blk := e.ContentBlock
			if blk.Type == "tool_use" {
				if string(blk.Input) != "{}" {
					t.Fatalf("tool_use starts with input %s", blk.Input)
				}
				blk.Input = nil
			}
			c.Blocks = append(c.Blocks, blk)
			open = e.Index
		case "content_block_delta":
			var e anthropic.ContentBlockDeltaEvent
			must(t, json.Unmarshal(ev.Data, &e))
			if e.Index != open {
				t.Fatalf("delta for block %d while %d is open", e.Index, open)
			}
			blk := &c.Blocks[e.Index]
			switch e.Delta.Type {
			case "text_delta":
				blk.Text += e.Delta.Text
			case "input_json_delta":
				blk.Input = append(blk.Input, e.Delta.PartialJSON...)
			default:
				t.Fatalf("delta type %q", e.Delta.Type)
			}
		case "content_block_stop":
			if head.Index != open {
				t.Fatalf("stop of %d while %d is open", head.Index, open)
			}
			open = -1
		case "message_delta":
			var e anthropic.MessageDeltaEvent
			must(t, json.Unmarshal(ev.Data, &e))
			if open >= 0 {
				t.Fatalf("message_delta while block %d is open", open)
			}
			deltaSeen = true
			if e.Delta.StopReason != nil {
				c.StopReason = *e.Delta.StopReason
			}
			c.Usage.OutputTokens = e.Usage.OutputTokens
			if e.Usage.InputTokens != nil {
				c.Usage.InputTokens = *e.Usage.InputTokens
			}
			if e.Usage.CacheReadInputTokens != nil {
				c.Usage.CacheReadInputTokens = *e.Usage.CacheReadInputTokens
			}
			if e.Usage.CacheCreationInputTokens != nil {
				c.Usage.CacheCreationInputTokens = *e.Usage.CacheCreationInputTokens
			}
		case "message_stop":
			if !deltaSeen {
				t.Fatal("message_stop without message_delta")
			}
			c.Stopped = true
		case "error":
			var e anthropic.ErrorResponse
			must(t, json.Unmarshal(ev.Data, &e))
			c.Error = &e.Error
		default:
			t.Fatalf("unexpected event %q", head.Type)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestStreamToOpenAIGolden translates recorded-shape Anthropic streams and
// compares the OpenAI chunk stream with the golden file, and what an
// OpenAI SDK assembles from it with what the provider said.
func TestStreamToOpenAIGolden(t *testing.T) {
	for _, tc := range []struct {
		in           string
		includeUsage bool
		golden       string
		want         openAIClient
		endErr       error
	}{
		{"anthropic_text.sse", true, "anthropic_text.to_openai.golden", openAIClient{
			ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-haiku-4-5-20251001",
			Text: "Hello, wörld!\nLine two\ttabbed é 😀", Finish: "stop", UsageChunks: 1, Done: true,
			Usage: &openai.Usage{PromptTokens: 25 + 1024 + 2048, CompletionTokens: 15, TotalTokens: 25 + 1024 + 2048 + 15,
				PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 2048, CacheWriteTokens: 1024}}}, nil},
		{"anthropic_text.sse", false, "anthropic_text.to_openai_nousage.golden", openAIClient{
			ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-haiku-4-5-20251001",
			Text: "Hello, wörld!\nLine two\ttabbed é 😀", Finish: "stop", Done: true}, nil},
		{"anthropic_tools.sse", true, "anthropic_tools.to_openai.golden", openAIClient{
			ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Model: "claude-sonnet-4-5",
			Text: `Okay, let me check the "weather" in São Paulo for you 🌦.`, Finish: "tool_calls", UsageChunks: 1, Done: true,
			Tools: []openai.ToolCall{{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Type: "function",
				Function: openai.FunctionCall{Name: "get_weather", Arguments: `{"location": "São Paulo, BR", "unit": "celsius"}`}}},
			Usage: &openai.Usage{PromptTokens: 600, CompletionTokens: 89, TotalTokens: 689,
				PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: 128}}}, nil},
		{"anthropic_thinking.sse", true, "anthropic_thinking.to_openai.golden", openAIClient{
			ID: "msg_think", Model: "claude-sonnet-4-5", Text: "4", Finish: "length", UsageChunks: 1, Done: true,
			Usage: &openai.Usage{PromptTokens: 10, CompletionTokens: 30, TotalTokens: 40,
				PromptTokensDetails: &openai.PromptTokensDetails{}}}, nil},
		{"anthropic_error.sse", true, "anthropic_error.to_openai.golden", openAIClient{
			ID: "msg_err", Model: "claude-sonnet-4-5", Text: "Partial",
			Errors: []openai.Error{{Message: "Overloaded", Type: "server_error", Code: ptr("overloaded")}}}, nil},
		{"anthropic_cut.sse", true, "anthropic_cut.to_openai.golden", openAIClient{
			ID: "msg_cut", Model: "claude-sonnet-4-5", Text: "The connection dro",
			Errors: []openai.Error{{Message: "the provider's stream ended before the answer was complete", Type: "server_error"}}}, ErrStreamCut},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			in := readTestdata(t, tc.in)
			tr := NewStreamToOpenAI(ResponseOptions{Created: 1741570283}, tc.includeUsage)
			out, inputs, perEvent, endErr := runStream(t, tr, bytes.NewReader(in))
			if !errors.Is(endErr, tc.endErr) {
				t.Fatalf("End: got %v, want %v", endErr, tc.endErr)
			}
			checkGolden(t, tc.golden, out)
			got := readOpenAIClient(t, out)
			if g, w := fmt.Sprintf("%+v", jsonOf(got)), fmt.Sprintf("%+v", jsonOf(tc.want)); g != w {
				t.Fatalf("the client assembles\n%s\nwant\n%s", g, w)
			}
			assertNothingHeldBack(t, inputs, perEvent, "text", "partial_json")

			// The same stream, delivered one byte per read, gives the same
			// bytes to the client.
			tr.Reset(ResponseOptions{Created: 1741570283}, tc.includeUsage)
			out2, _, _, _ := runStream(t, tr, iotest.OneByteReader(bytes.NewReader(in)))
			if !bytes.Equal(out, out2) {
				t.Fatalf("one byte per read gives\n%s", out2)
			}
		})
	}
}

// TestStreamToAnthropicGolden translates recorded-shape OpenAI streams.
func TestStreamToAnthropicGolden(t *testing.T) {
	for _, tc := range []struct {
		in, golden string
		want       anthropicClient
		text       string
		endErr     error
	}{
		{"openai_text.sse", "openai_text.to_anthropic.golden", anthropicClient{
			ID: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", Model: "gpt-4o-mini-2024-07-18",
			StopReason: "max_tokens", Stopped: true, Usage: anthropic.Usage{InputTokens: 19, OutputTokens: 10}},
			"Hello, wörld!\nLine two é 😀", nil},
		{"openai_tools.sse", "openai_tools.to_anthropic.golden", anthropicClient{
			ID: "chatcmpl-AbC123", Model: "gpt-4o-2024-08-06", StopReason: "tool_use", Stopped: true,
			Usage: anthropic.Usage{InputTokens: 510 - 256, OutputTokens: 42, CacheReadInputTokens: 256}},
			`Let me look that up: "São Paulo" 🌦`, nil},
		{"openai_compat.sse", "openai_compat.to_anthropic.golden", anthropicClient{
			ID: "cmpl-7f1", Model: "qwen2.5-7b-instruct", StopReason: "tool_use", Stopped: true,
			Usage: anthropic.Usage{InputTokens: 30, OutputTokens: 12}}, "", nil},
		{"openai_no_usage.sse", "openai_no_usage.to_anthropic.golden", anthropicClient{
			ID: "chatcmpl-nu", Model: "gpt-4o", StopReason: "end_turn", Stopped: true}, "Hi", nil},
		{"openai_error.sse", "openai_error.to_anthropic.golden", anthropicClient{
			ID: "chatcmpl-e", Model: "gpt-4o",
			Error: &anthropic.Error{Type: "api_error", Message: "The server had an error while processing your request. Sorry about that!"}}, "Par", nil},
		{"openai_cut.sse", "openai_cut.to_anthropic.golden", anthropicClient{
			ID: "chatcmpl-c", Model: "gpt-4o",
			Error: &anthropic.Error{Type: "api_error", Message: "the provider's stream ended before the answer was complete"}}, "The connection dro", ErrStreamCut},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			in := readTestdata(t, tc.in)
			tr := NewStreamToAnthropic(ResponseOptions{})
			out, inputs, perEvent, endErr := runStream(t, tr, bytes.NewReader(in))
			if !errors.Is(endErr, tc.endErr) {
				t.Fatalf("End: got %v, want %v", endErr, tc.endErr)
			}
			checkGolden(t, tc.golden, out)
			got := readAnthropicClient(t, out)
			if got.text() != tc.text {
				t.Fatalf("text %q, want %q", got.text(), tc.text)
			}
			blocks := got.Blocks
			got.Blocks = nil
			if g, w := fmt.Sprintf("%+v", jsonOf(got)), fmt.Sprintf("%+v", jsonOf(tc.want)); g != w {
				t.Fatalf("the client assembles\n%s\nwant\n%s", g, w)
			}
			for _, b := range blocks {
				if b.Type == "tool_use" && !json.Valid(b.Input) {
					t.Fatalf("tool %s input %q is not JSON", b.Name, b.Input)
				}
			}
			assertNothingHeldBack(t, inputs, perEvent, "content", "arguments")
			tr.Reset(ResponseOptions{})
			out2, _, _, _ := runStream(t, tr, iotest.OneByteReader(bytes.NewReader(in)))
			if !bytes.Equal(out, out2) {
				t.Fatalf("one byte per read gives\n%s", out2)
			}
		})
	}
}

// TestStreamToAnthropicTools checks the tool calls an Anthropic SDK
// assembles from OpenAI's streamed tool calls, including a server that
// sends no call ids.
func TestStreamToAnthropicTools(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []anthropic.Block
	}{
		{"openai_tools.sse", []anthropic.Block{
			{Type: "text", Text: `Let me look that up: "São Paulo" 🌦`},
			{Type: "tool_use", ID: "call_abc", Name: "get_weather", Input: json.RawMessage(`{"location": "São Paulo"}`)},
			{Type: "tool_use", ID: "call_def", Name: "get_time", Input: json.RawMessage(`{}`)},
		}},
		{"openai_compat.sse", []anthropic.Block{
			{Type: "tool_use", ID: "call_0", Name: "lookup", Input: json.RawMessage(`{"q": "x"}`)},
		}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			out, _, _, _ := runStream(t, NewStreamToAnthropic(ResponseOptions{}), bytes.NewReader(readTestdata(t, tc.in)))
			got := readAnthropicClient(t, out).Blocks
			if g, w := string(jsonOf(got)), string(jsonOf(tc.want)); g != w {
				t.Fatalf("got %s\nwant %s", g, w)
			}
		})
	}
}

func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// assertNothingHeldBack checks that each input event carrying content
// (a member named one of keys with a non-empty string) produced, in the
// same call, output that carries that same string.
func assertNothingHeldBack(t *testing.T, inputs, perEvent []string, keys ...string) {
	t.Helper()
	for i, in := range inputs {
		for _, k := range keys {
			needle := `"` + k + `":"`
			j := strings.Index(in, needle)
			if j < 0 || strings.HasPrefix(in[j+len(needle):], `"`) {
				continue
			}
			// The string literal as it was on the wire.
			lit := in[j+len(needle)-1:]
			end := 1
			for end < len(lit) && lit[end] != '"' {
				if lit[end] == '\\' {
					end++
				}
				end++
			}
			lit = lit[:end+1]
			if !strings.Contains(perEvent[i], lit) {
				t.Fatalf("event %d carries %s but its output is %q", i, lit, perEvent[i])
			}
		}
	}
}

// TestStreamToOpenAIUsageChunkExactlyOnce: a client that asked for usage
// gets exactly one usage chunk, with the final numbers, however the
// provider ends (message_stop, or EOF after message_delta).
func TestStreamToOpenAIUsageChunkExactlyOnce(t *testing.T) {
	full := readTestdata(t, "anthropic_text.sse")
	noStop := bytes.Replace(full, []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), nil, 1)
	for name, in := range map[string][]byte{"message_stop": full, "eof after message_delta": noStop} {
		t.Run(name, func(t *testing.T) {
			out, _, _, err := runStream(t, NewStreamToOpenAI(ResponseOptions{Created: 1}, true), bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			c := readOpenAIClient(t, out)
			if c.UsageChunks != 1 || !c.Done || c.Usage.TotalTokens != 25+1024+2048+15 {
				t.Fatalf("%d usage chunks, done %v, usage %+v", c.UsageChunks, c.Done, c.Usage)
			}
		})
	}
}

// TestStreamModelOverride shows the client the model name it asked for.
func TestStreamModelOverride(t *testing.T) {
	out, _, _, _ := runStream(t, NewStreamToOpenAI(ResponseOptions{Model: "my-alias", Created: 1}, false), bytes.NewReader(readTestdata(t, "anthropic_text.sse")))
	if c := readOpenAIClient(t, out); c.Model != "my-alias" {
		t.Fatalf("model %q", c.Model)
	}
	out, _, _, _ = runStream(t, NewStreamToAnthropic(ResponseOptions{Model: "my-alias"}), bytes.NewReader(readTestdata(t, "openai_text.sse")))
	if c := readAnthropicClient(t, out); c.Model != "my-alias" {
		t.Fatalf("model %q", c.Model)
	}
}

// TestStreamMalformedEvent ends the client's stream with an error event
// when the provider sends something that is not the API's JSON.
func TestStreamMalformedEvent(t *testing.T) {
	for _, data := range []string{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"unterminated}}`, `not json`, `{"type":"content_block_delta","index":99,"delta":{"type":"text_delta","text":"x"}}`} {
		tr := NewStreamToOpenAI(ResponseOptions{Created: 1}, true)
		out, _ := tr.Event(nil, []byte("message_start"), []byte(`{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}`))
		out, err := tr.Event(out, []byte("content_block_delta"), []byte(data))
		if !errors.Is(err, ErrMalformedEvent) || !tr.Done() {
			t.Fatalf("%s: err %v, done %v", data, err, tr.Done())
		}
		if c := readOpenAIClient(t, out); len(c.Errors) != 1 || c.Errors[0].Type != "server_error" {
			t.Fatalf("%s: client sees %+v", data, c)
		}
		if more, _ := tr.Event(nil, nil, []byte(`{"type":"message_stop"}`)); len(more) != 0 {
			t.Fatalf("output after the end: %q", more)
		}
	}
	for _, data := range []string{`{"choices":[{"delta":{"content":"x"}}`, `[1]`, `{"choices":[{"delta":{"tool_calls":[{"index":100000}]}}]}`} {
		tr := NewStreamToAnthropic(ResponseOptions{})
		out, err := tr.Event(nil, nil, []byte(data))
		if !errors.Is(err, ErrMalformedEvent) || !tr.Done() {
			t.Fatalf("%s: err %v, done %v", data, err, tr.Done())
		}
		if c := readAnthropicClient(t, out); c.Error == nil || c.Error.Type != "api_error" {
			t.Fatalf("%s: client sees %+v", data, c)
		}
	}
}

// FuzzStreamToOpenAI feeds arbitrary event data to the translator after a
// valid start: it must not panic, and everything it writes must be SSE
// whose data is valid JSON or [DONE].
func FuzzStreamToOpenAI(f *testing.F) {
	for _, name := range []string{"anthropic_text.sse", "anthropic_tools.sse", "anthropic_thinking.sse", "anthropic_error.sse"} {
		r := sse.NewReader(bytes.NewReader(readTestdata(f, name)), 0)
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			f.Add(ev.Data, true)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, includeUsage bool) {
		tr := NewStreamToOpenAI(ResponseOptions{Created: 1}, includeUsage)
		out, _ := tr.Event(nil, nil, []byte(`{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}`))
		out, _ = tr.Event(out, nil, []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
		out, _ = tr.Event(out, nil, []byte(`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}`))
		out, _ = tr.Event(out, nil, data)
		out, _ = tr.End(out)
		checkSSEJSON(t, out)
	})
}

// FuzzStreamToAnthropic is FuzzStreamToOpenAI the other way.
func FuzzStreamToAnthropic(f *testing.F) {
	for _, name := range []string{"openai_text.sse", "openai_tools.sse", "openai_compat.sse", "openai_error.sse"} {
		r := sse.NewReader(bytes.NewReader(readTestdata(f, name)), 0)
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			f.Add(ev.Data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := NewStreamToAnthropic(ResponseOptions{})
		out, _ := tr.Event(nil, nil, []byte(`{"id":"x","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}`))
		out, _ = tr.Event(out, nil, data)
		out, _ = tr.End(out)
		checkSSEJSON(t, out)
	})
}

func checkSSEJSON(t *testing.T, out []byte) {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(out), 0)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !ev.HasData || (!sse.IsDone(ev.Data) && !json.Valid(ev.Data)) {
			t.Fatalf("invalid event %q in\n%s", ev.Raw, out)
		}
	}
}

// TestStreamQuirks: keep-alives with empty data are ignored; Azure's
// first chunk (empty choices, prompt_filter_results, no id or model)
// does not start the message with an empty id and model.
func TestStreamQuirks(t *testing.T) {
	in := "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n" +
		"data:\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\",\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0}],\"created\":1,\"id\":\"chatcmpl-az\",\"model\":\"gpt-4o-2024-11-20\",\"object\":\"chat.completion.chunk\"}\n\n" +
		"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"index\":0}],\"created\":1,\"id\":\"chatcmpl-az\",\"model\":\"gpt-4o-2024-11-20\",\"object\":\"chat.completion.chunk\"}\n\n" +
		"data: [DONE]\n\n"
	out, _, _, err := runStream(t, NewStreamToAnthropic(ResponseOptions{}), strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	c := readAnthropicClient(t, out)
	if c.ID != "chatcmpl-az" || c.Model != "gpt-4o-2024-11-20" || c.text() != "Hi" || !c.Stopped {
		t.Fatalf("got %+v", c)
	}
	tr := NewStreamToOpenAI(ResponseOptions{Created: 1}, false)
	if out, err := tr.Event(nil, nil, []byte(" ")); err != nil || len(out) != 0 || tr.Done() {
		t.Fatalf("empty data: %q %v", out, err)
	}
}
