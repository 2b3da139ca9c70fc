package translate

import (
	"errors"
	"strings"
	"testing"
)

func TestResponseToOpenAI(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		opt            ResponseOptions
	}{
		{name: "text, end_turn, usage with cache",
			in: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],
				"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20}}`,
			want: `{"id":"msg_1","object":"chat.completion","created":1700000000,"model":"claude-sonnet-4-5",
				"choices":[{"index":0,"message":{"role":"assistant","content":"Hello there","refusal":null},"finish_reason":"stop","logprobs":null}],
				"usage":{"prompt_tokens":130,"completion_tokens":5,"total_tokens":135,"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":20}}}`},
		{name: "tool use, thinking dropped, model alias shown",
			opt: ResponseOptions{Model: "my-alias", Created: 1700000000},
			in: `{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"thinking","thinking":"hm","signature":"s"},
				{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city": "Paris"}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}}`,
			want: `{"id":"msg_2","object":"chat.completion","created":1700000000,"model":"my-alias",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls","logprobs":null}],
				"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{name: "max_tokens is length, empty content is an empty string",
			in: `{"id":"m","type":"message","role":"assistant","model":"c","content":[],"stop_reason":"max_tokens","usage":{"input_tokens":1,"output_tokens":0}}`,
			want: `{"id":"m","object":"chat.completion","created":1700000000,"model":"c",
				"choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"finish_reason":"length","logprobs":null}],
				"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1,"prompt_tokens_details":{"cached_tokens":0}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opt.Created == 0 {
				tc.opt.Created = 1700000000
			}
			out, err := ResponseBodyToOpenAI([]byte(tc.in), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := canonical(t, string(out)), canonical(t, tc.want); got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestResponseToAnthropic(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		opt            ResponseOptions
	}{
		{name: "text, stop, usage with cached tokens",
			in: `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello","refusal":null},
				"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":130,"completion_tokens":5,"total_tokens":135,"prompt_tokens_details":{"cached_tokens":100}}}`,
			want: `{"id":"chatcmpl-1","type":"message","role":"assistant","model":"gpt-4o","content":[{"type":"text","text":"Hello"}],
				"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":30,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":0}}`},
		{name: "tool calls, model alias",
			opt: ResponseOptions{Model: "alias"},
			in: `{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,
				"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\": 1}"}},{"id":"call_2","type":"function","function":{"name":"g","arguments":""}}]},
				"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
			want: `{"id":"c","type":"message","role":"assistant","model":"alias","content":[{"type":"tool_use","id":"call_1","name":"f","input":{"a":1}},
				{"type":"tool_use","id":"call_2","name":"g","input":{}}],"stop_reason":"tool_use","stop_sequence":null,
				"usage":{"input_tokens":3,"output_tokens":4,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}`},
		{name: "length is max_tokens",
			in: `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"abc"},"finish_reason":"length"}]}`,
			want: `{"id":"c","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"abc"}],"stop_reason":"max_tokens","stop_sequence":null,
				"usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}`},
		{name: "refusal",
			in: `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`,
			want: `{"id":"c","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"I can't help with that."}],"stop_reason":"refusal","stop_sequence":null,
				"usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}`},
		{name: "content_filter is refusal",
			in: `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"content_filter"}]}`,
			want: `{"id":"c","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"refusal","stop_sequence":null,
				"usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ResponseBodyToAnthropic([]byte(tc.in), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := canonical(t, string(out)), canonical(t, tc.want); got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestResponseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"no choices", func() error {
			_, err := ResponseBodyToAnthropic([]byte(`{"id":"c","choices":[]}`), ResponseOptions{})
			return err
		}, "no choices"},
		{"arguments not an object", func() error {
			_, err := ResponseBodyToAnthropic([]byte(`{"id":"c","choices":[{"message":{"tool_calls":[{"id":"x","function":{"name":"f","arguments":"{broken"}}]}}]}`), ResponseOptions{})
			return err
		}, "not a JSON object"},
		{"not a chat completion", func() error {
			_, err := ResponseBodyToAnthropic([]byte(`<html>`), ResponseOptions{})
			return err
		}, "not a valid chat completion"},
		{"not a message", func() error {
			_, err := ResponseBodyToOpenAI([]byte(`{"content":"x"}`), ResponseOptions{})
			return err
		}, "not a valid messages response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var te *Error
			if err := tc.run(); !errors.As(err, &te) || te.Status != 502 || !strings.Contains(te.Message, tc.want) {
				t.Fatalf("got %v, want a 502 error containing %q", err, tc.want)
			}
		})
	}
}

func TestFinishAndStopReasons(t *testing.T) {
	for stop, finish := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
		"model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter", "": "stop", "future_reason": "stop",
	} {
		if got := FinishReason(stop); got != finish {
			t.Errorf("FinishReason(%q) = %q, want %q", stop, got, finish)
		}
		if got := finishReasonOf([]byte(`"` + stop + `"`)); got != finish {
			t.Errorf("finishReasonOf(%q) = %q, want %q", stop, got, finish)
		}
	}
	for finish, stop := range map[string]string{
		"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use", "content_filter": "refusal", "": "end_turn",
	} {
		if got := StopReason(finish); got != stop {
			t.Errorf("StopReason(%q) = %q, want %q", finish, got, stop)
		}
		if got := stopReasonOf([]byte(`"` + finish + `"`)); got != stop {
			t.Errorf("stopReasonOf(%q) = %q, want %q", finish, got, stop)
		}
	}
}
