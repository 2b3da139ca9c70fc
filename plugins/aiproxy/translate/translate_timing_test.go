package translate

import (
	"bytes"
	"io"
	"testing"

	"github.com/moongate/moongate/plugins/aiproxy/sse"
	"github.com/moongate/moongate/plugins/aiproxy/usage"
)

var (
	benchOpenAIRequest = []byte(`{"model":"gpt-4o","max_tokens":512,"temperature":0.7,"stream":true,"stream_options":{"include_usage":true},
		"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the weather in Paris?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"18°C and sunny"},{"role":"user","content":"And tomorrow?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}`)
	benchAnthropicRequest = []byte(`{"model":"claude-sonnet-4-5","max_tokens":512,"temperature":0.7,"stream":true,"system":"You are a helpful assistant.",
		"messages":[{"role":"user","content":"What is the weather in Paris?"},
		{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18°C and sunny"},{"type":"text","text":"And tomorrow?"}]}],
		"tools":[{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}`)
	benchAnthropicResponse = []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Tomorrow in Paris: 20°C, light clouds, a good day for a walk along the Seine."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":120,"output_tokens":25,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}`)
	benchOpenAIResponse    = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Tomorrow in Paris: 20°C, light clouds, a good day for a walk along the Seine.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":25,"total_tokens":145,"prompt_tokens_details":{"cached_tokens":0}}}`)

	anthropicTextDelta = []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" a good day for a walk"}}`)
	openAITextChunk    = []byte(`{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{"content":" a good day for a walk"},"logprobs":null,"finish_reason":null}],"usage":null}`)
)

func BenchmarkRequestToAnthropic(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := RequestBodyToAnthropic(benchOpenAIRequest, RequestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRequestToOpenAI(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := RequestBodyToOpenAI(benchAnthropicRequest, RequestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponseToOpenAI(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ResponseBodyToOpenAI(benchAnthropicResponse, ResponseOptions{Created: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponseToAnthropic(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ResponseBodyToAnthropic(benchOpenAIResponse, ResponseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetModel(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := SetModel(benchOpenAIRequest, "gpt-4o-2024-08-06"); err != nil {
			b.Fatal(err)
		}
	}
}

// startedToOpenAI returns a translator in the middle of a text block.
func startedToOpenAI() *StreamToOpenAI {
	s := NewStreamToOpenAI(ResponseOptions{Created: 1}, true)
	s.Event(nil, nil, []byte(`{"type":"message_start","message":{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","model":"claude-sonnet-4-5","usage":{"input_tokens":25,"output_tokens":1}}}`))
	s.Event(nil, nil, []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	return s
}

func startedToAnthropic() *StreamToAnthropic {
	s := NewStreamToAnthropic(ResponseOptions{})
	s.Event(nil, nil, openAITextChunk)
	return s
}

// BenchmarkStreamToOpenAIEvent: one Anthropic text delta → one OpenAI
// chunk.
func BenchmarkStreamToOpenAIEvent(b *testing.B) {
	s := startedToOpenAI()
	typ := []byte("content_block_delta")
	var dst []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst, _ = s.Event(dst[:0], typ, anthropicTextDelta)
	}
}

// BenchmarkStreamToAnthropicEvent: one OpenAI content chunk → one
// Anthropic content_block_delta.
func BenchmarkStreamToAnthropicEvent(b *testing.B) {
	s := startedToAnthropic()
	var dst []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst, _ = s.Event(dst[:0], nil, openAITextChunk)
	}
}

// BenchmarkStreamWhole translates a whole recorded stream per iteration,
// reading it with sse.Reader, reusing the translator (Reset).
func BenchmarkStreamWhole(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   string
		tr   streamTranslator
		rst  func()
	}{
		{"anthropic-to-openai", "anthropic_tools.sse", nil, nil},
		{"openai-to-anthropic", "openai_tools.sse", nil, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := readTestdata(b, bc.in)
			toO := NewStreamToOpenAI(ResponseOptions{Created: 1}, true)
			toA := NewStreamToAnthropic(ResponseOptions{})
			r := sse.NewReader(nil, 0)
			src := bytes.NewReader(in)
			var dst []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				src.Reset(in)
				r.Reset(src, 0)
				var tr streamTranslator = toA
				if bc.name == "anthropic-to-openai" {
					toO.Reset(ResponseOptions{Created: 1}, true)
					tr = toO
				} else {
					toA.Reset(ResponseOptions{})
				}
				for {
					ev, err := r.Next()
					if err != nil {
						break
					}
					dst, _ = tr.Event(dst[:0], ev.Type, ev.Data)
				}
				dst, _ = tr.End(dst[:0])
			}
		})
	}
}

// passThrough is the pass-through path of one event: frame it, meter its
// usage, write its raw bytes.
func passThrough(r *sse.Reader, u *usage.Stream, w *sse.Writer, openAI bool) error {
	ev, err := r.Next()
	if err != nil {
		return err
	}
	if ev.HasData {
		if openAI {
			u.OpenAI(ev.Data)
		} else {
			u.Anthropic(ev.Data)
		}
	}
	return w.WriteRaw(ev.Raw)
}

// loopReader repeats a stream forever.
type loopReader struct {
	stream []byte
	off    int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.stream[l.off:])
	l.off = (l.off + n) % len(l.stream)
	return n, nil
}

var (
	openAIPassStream    = append(append([]byte("data: "), openAITextChunk...), "\n\n"...)
	anthropicPassStream = append(append([]byte("event: content_block_delta\ndata: "), anthropicTextDelta...), "\n\n"...)
	openAIUsageStream   = []byte("data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29}}\n\n")
)

// BenchmarkPassThroughEvent: the same API kind on both sides; per event.
func BenchmarkPassThroughEvent(b *testing.B) {
	for _, bc := range []struct {
		name   string
		stream []byte
		openAI bool
	}{{"openai", openAIPassStream, true}, {"openai-usage-chunk", openAIUsageStream, true}, {"anthropic", anthropicPassStream, false}} {
		b.Run(bc.name, func(b *testing.B) {
			r := sse.NewReader(&loopReader{stream: bc.stream}, 0)
			w := sse.NewWriter(io.Discard)
			var u usage.Stream
			b.SetBytes(int64(len(bc.stream)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := passThrough(r, &u, w, bc.openAI); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPassThroughDoesNotAllocate guards the pass-through budget: 0
// allocations per streamed event.
func TestPassThroughDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for name, stream := range map[string][]byte{"openai": openAIPassStream, "openai usage chunk": openAIUsageStream, "anthropic": anthropicPassStream} {
		openAI := name != "anthropic"
		r := sse.NewReader(&loopReader{stream: stream}, 0)
		w := sse.NewWriter(io.Discard)
		var u usage.Stream
		for i := 0; i < 100; i++ {
			if err := passThrough(r, &u, w, openAI); err != nil {
				t.Fatal(err)
			}
		}
		if n := testing.AllocsPerRun(1000, func() {
			if err := passThrough(r, &u, w, openAI); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per event, want 0", name, n)
		}
	}
}

// TestStreamTranslationDoesNotAllocate: a warm translator allocates
// nothing per content event, and nothing for a whole stream.
func TestStreamTranslationDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	toO := startedToOpenAI()
	toA := startedToAnthropic()
	dst := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(1000, func() {
		dst, _ = toO.Event(dst[:0], nil, anthropicTextDelta)
		dst, _ = toA.Event(dst[:0], nil, openAITextChunk)
	}); n != 0 {
		t.Errorf("%v allocations per event, want 0", n)
	}
	for _, name := range []string{"anthropic_tools.sse", "anthropic_text.sse", "openai_tools.sse", "openai_text.sse"} {
		in := readTestdata(t, name)
		r := sse.NewReader(nil, 0)
		src := bytes.NewReader(in)
		run := func() {
			src.Reset(in)
			r.Reset(src, 0)
			var tr streamTranslator = toA
			if name[0] == 'a' {
				toO.Reset(ResponseOptions{Created: 1}, true)
				tr = toO
			} else {
				toA.Reset(ResponseOptions{})
			}
			for {
				ev, err := r.Next()
				if err != nil {
					break
				}
				dst, _ = tr.Event(dst[:0], ev.Type, ev.Data)
			}
			dst, _ = tr.End(dst[:0])
		}
		run()
		if n := testing.AllocsPerRun(100, run); n != 0 {
			t.Errorf("%s: %v allocations per stream, want 0", name, n)
		}
	}
}
