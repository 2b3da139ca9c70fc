package usage

import (
	"testing"
)

func TestFromJSON(t *testing.T) {
	for _, tc := range []struct {
		name      string
		anthropic bool
		body      string
		want      Tokens
		ok        bool
	}{
		{"openai chat", false, `{"id":"c","choices":[],"usage":{"prompt_tokens":130,"completion_tokens":5,"total_tokens":135,"prompt_tokens_details":{"cached_tokens":100,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2}}}`,
			Tokens{Prompt: 130, Completion: 5, Total: 135, CachedPrompt: 100}, true},
		{"openai embeddings", false, `{"object":"list","data":[],"model":"e","usage":{"prompt_tokens":8,"total_tokens":8}}`,
			Tokens{Prompt: 8, Total: 8}, true},
		{"openai without total", false, `{"usage":{"prompt_tokens":3,"completion_tokens":4}}`, Tokens{Prompt: 3, Completion: 4, Total: 7}, true},
		{"openai without usage", false, `{"id":"c","usage":null}`, Tokens{}, false},
		{"openai malformed", false, `{"usage":{"prompt_tokens":3`, Tokens{}, false},
		{"anthropic", true, `{"id":"m","usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20}}`,
			Tokens{Prompt: 130, Completion: 5, Total: 135, CachedPrompt: 100, CacheWrite: 20}, true},
		{"anthropic with nulls", true, `{"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":null}}`,
			Tokens{Prompt: 10, Completion: 5, Total: 15}, true},
		{"anthropic without usage", true, `{"type":"error"}`, Tokens{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Tokens
			var ok bool
			if tc.anthropic {
				got, ok = FromAnthropic([]byte(tc.body))
			} else {
				got, ok = FromOpenAI([]byte(tc.body))
			}
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAnthropicConversionRoundTrip(t *testing.T) {
	a := Anthropic{Input: 10, Output: 5, CacheRead: 100, CacheWrite: 20}
	if back := AnthropicOf(a.Tokens()); back != a {
		t.Fatalf("got %+v, want %+v", back, a)
	}
}

func TestStreamOpenAI(t *testing.T) {
	var s Stream
	chunks := []struct {
		data       string
		usageChunk bool
	}{
		{`{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}`, false},
		{`{"id":"c","choices":[{"index":0,"delta":{"content":"the word \"usage\": is here"}}],"usage":null}`, false},
		{`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`, false},
		{`{"id":"c","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":3}}}`, true},
	}
	for _, c := range chunks {
		if got := s.OpenAI([]byte(c.data)); got != c.usageChunk {
			t.Fatalf("%s: usage chunk %v, want %v", c.data, got, c.usageChunk)
		}
	}
	got, ok := s.Tokens()
	if !ok || got != (Tokens{Prompt: 19, Completion: 10, Total: 29, CachedPrompt: 3}) {
		t.Fatalf("got %+v %v", got, ok)
	}
	// Usage in every chunk (some compatible servers): the last one wins,
	// and a chunk with choices is not the usage chunk.
	s.Reset()
	s.OpenAI([]byte(`{"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`))
	if s.OpenAI([]byte(`{"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`)) {
		t.Fatal("a chunk with choices is not the usage chunk")
	}
	if got, _ := s.Tokens(); got.Total != 7 {
		t.Fatalf("got %+v", got)
	}
	// A nested "usage":null and text that reads "usage" do not hide the
	// real member.
	s.Reset()
	s.OpenAI([]byte(`{"x":{"usage":null},"choices":[{"delta":{"content":"usage"}}],"usage":{"prompt_tokens":2,"completion_tokens":2}}`))
	if got, _ := s.Tokens(); got.Total != 4 {
		t.Fatalf("got %+v", got)
	}
}

func TestStreamAnthropic(t *testing.T) {
	var s Stream
	for _, data := range []string{
		`{"type":"message_start","message":{"id":"m","usage":{"input_tokens":25,"cache_creation_input_tokens":1024,"cache_read_input_tokens":2048,"output_tokens":1}}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"usage\":{\"output_tokens\":999}"}}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}`,
		`{"type":"message_stop"}`,
	} {
		s.Anthropic([]byte(data))
	}
	got, ok := s.Tokens()
	want := Tokens{Prompt: 25 + 1024 + 2048, Completion: 15, Total: 25 + 1024 + 2048 + 15, CachedPrompt: 2048, CacheWrite: 1024}
	if !ok || got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// Recent API versions repeat the input numbers in message_delta.
	s.Reset()
	s.Anthropic([]byte(`{"type":"message_start","message":{"usage":{"input_tokens":0,"output_tokens":1}}}`))
	s.Anthropic([]byte(`{"type":"message_delta","delta":{},"usage":{"input_tokens":40,"output_tokens":9,"cache_read_input_tokens":0}}`))
	if got, _ := s.Tokens(); got != (Tokens{Prompt: 40, Completion: 9, Total: 49}) {
		t.Fatalf("got %+v", got)
	}
}

func TestStreamDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	var s Stream
	delta := []byte(`{"id":"c","choices":[{"index":0,"delta":{"content":"Hello"}}],"usage":null}`)
	last := []byte(`{"id":"c","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29}}`)
	ad := []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}`)
	if n := testing.AllocsPerRun(1000, func() {
		s.OpenAI(delta)
		s.OpenAI(last)
		s.Anthropic(ad)
	}); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
