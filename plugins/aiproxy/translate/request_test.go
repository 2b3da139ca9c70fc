package translate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/moongate/moongate/plugins/aiproxy/anthropic"
	"github.com/moongate/moongate/plugins/aiproxy/openai"
)

// canonical re-encodes JSON with sorted keys, so that documents can be
// compared whatever their member order.
func canonical(t testing.TB, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Each case gives the client's request and the whole provider request it
// must become (the model and max_tokens, which every request has, are
// written out only where they are the point).
type requestCase struct {
	name string
	in   string
	opt  RequestOptions
	want string // the translated request; "" when an error is expected
	err  string // a part of the expected 400 message
}

func TestRequestToAnthropic(t *testing.T) {
	for _, tc := range []requestCase{
		{name: "minimal: max_tokens defaults",
			in:   `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude","max_tokens":4096,"messages":[{"role":"user","content":"Hi"}]}`},
		{name: "default max_tokens is configurable",
			in:   `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`,
			opt:  RequestOptions{DefaultMaxTokens: 1000, Model: "claude-sonnet-4-5"},
			want: `{"model":"claude-sonnet-4-5","max_tokens":1000,"messages":[{"role":"user","content":"Hi"}]}`},
		{name: "max_tokens",
			in:   `{"model":"m","max_tokens":77,"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"m","max_tokens":77,"messages":[{"role":"user","content":"Hi"}]}`},
		{name: "max_completion_tokens wins over max_tokens",
			in:   `{"model":"m","max_tokens":77,"max_completion_tokens":88,"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"m","max_tokens":88,"messages":[{"role":"user","content":"Hi"}]}`},
		{name: "one system message becomes the system string",
			in:   `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`,
			want: `{"model":"m","max_tokens":4096,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`},
		{name: "several system and developer messages become system blocks, wherever they are",
			in: `{"model":"m","messages":[{"role":"system","content":"One."},{"role":"developer","content":[{"type":"text","text":"Two."}]},
				{"role":"user","content":"Hi"},{"role":"system","content":"Three."}]}`,
			want: `{"model":"m","max_tokens":4096,"system":[{"type":"text","text":"One."},{"type":"text","text":"Two."},{"type":"text","text":"Three."}],
				"messages":[{"role":"user","content":"Hi"}]}`},
		{name: "multi-turn",
			in: `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"How are you?"}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"Hi"},
				{"role":"assistant","content":[{"type":"text","text":"Hello!"}]},{"role":"user","content":"How are you?"}]}`},
		{name: "consecutive same-role turns are merged",
			in: `{"model":"m","messages":[{"role":"user","content":"One"},{"role":"user","content":[{"type":"text","text":"Two"}]},
				{"role":"assistant","content":"A"},{"role":"assistant","content":"B"}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"One"},{"type":"text","text":"Two"}]},
				{"role":"assistant","content":[{"type":"text","text":"A"},{"type":"text","text":"B"}]}]}`},
		{name: "content parts: text and images by URL and base64",
			in: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},
				{"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"high"}},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
				{"type":"text","text":""}]}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},
				{"type":"image","source":{"type":"url","url":"https://example.com/cat.png"}},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}`},
		{name: "an inline PDF file becomes a document",
			in: `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}}]}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[
				{"type":"document","title":"a.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]}`},
		{name: "tools and tool_choice auto",
			in: `{"model":"m","messages":[{"role":"user","content":"Weather?"}],"tool_choice":"auto",
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","strict":true,
				"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
				{"type":"function","function":{"name":"now"}}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"Weather?"}],"tool_choice":{"type":"auto"},
				"tools":[{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
				{"name":"now","input_schema":{"type":"object","properties":{}}}]}`},
		{name: "tool_choice required is any",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"any"}}`},
		{name: "tool_choice none",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"none"}}`},
		{name: "tool_choice naming a function, no parallel calls",
			in: `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],
				"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],
				"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true}}`},
		{name: "parallel_tool_calls false alone",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":false}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`},
		{name: "tool calls and tool results; results merged into one user turn with the text after them",
			in: `{"model":"m","messages":[{"role":"user","content":"Weather in Paris and Rome?"},
				{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
					{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":""}}]},
				{"role":"tool","tool_call_id":"call_1","content":"18°C"},
				{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"21°C"}]},
				{"role":"user","content":"Thanks. Which is warmer?"}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"Weather in Paris and Rome?"},
				{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
					{"type":"tool_use","id":"call_2","name":"get_weather","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"18°C"},
					{"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"21°C"}]},
					{"type":"text","text":"Thanks. Which is warmer?"}]}]}`},
		{name: "assistant text with tool calls, and a refusal part",
			in: `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"text","text":"Let me see."},{"type":"refusal","refusal":"No."}],
				"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"text","text":"Let me see."},
				{"type":"text","text":"No."},{"type":"tool_use","id":"c","name":"f","input":{}}]}]}`},
		{name: "stop string",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END"}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"stop_sequences":["END"]}`},
		{name: "stop list",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b"]}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"stop_sequences":["a","b"]}`},
		{name: "temperature within 0..1 is kept, top_p copied",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0.7,"top_p":0.9}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"temperature":0.7,"top_p":0.9}`},
		{name: "temperature above 1 is clamped",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1.8}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"temperature":1}`},
		{name: "temperature 0 stays 0",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"temperature":0}`},
		{name: "stream, user, n=1",
			in:   `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true},"user":"u-42","n":1}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],"stream":true,"metadata":{"user_id":"u-42"}}`},
		{name: "response_format json_schema becomes output_config.format",
			in: `{"model":"m","messages":[{"role":"user","content":"x"}],
				"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}],
				"output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`},
		{name: "dropped: json_object, seed, penalties, logit_bias, logprobs, store, metadata, reasoning_effort, service_tier, unknown fields",
			in: `{"model":"m","messages":[{"role":"user","content":"x","name":"bob"}],"response_format":{"type":"json_object"},"seed":1,
				"presence_penalty":0.5,"frequency_penalty":0.5,"logit_bias":{"50256":-100},"logprobs":true,"top_logprobs":2,"store":true,
				"metadata":{"k":"v"},"reasoning_effort":"low","service_tier":"auto","some_future_field":{"x":1}}`,
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"x"}]}`},
		{name: "n > 1 is refused", in: `{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}`, err: "n: only 1"},
		{name: "legacy functions are refused", in: `{"model":"m","messages":[{"role":"user","content":"x"}],"functions":[{"name":"f"}]}`, err: "functions"},
		{name: "function role is refused", in: `{"model":"m","messages":[{"role":"function","name":"f","content":"x"}]}`, err: `"function" messages`},
		{name: "unknown role is refused", in: `{"model":"m","messages":[{"role":"wizard","content":"x"}]}`, err: `unknown role "wizard"`},
		{name: "audio is refused", in: `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}`, err: "audio"},
		{name: "file by id is refused", in: `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, err: "inline files"},
		{name: "bad image URL is refused", in: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x"}}]}]}`, err: "image_url.url"},
		{name: "data URL without base64 is refused", in: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, err: "base64"},
		{name: "image in a system message is refused", in: `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, err: "only text"},
		{name: "custom tools are refused", in: `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"c"}}]}`, err: "only function tools"},
		{name: "tool arguments must be an object", in: `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, err: "JSON object"},
		{name: "tool message needs its id", in: `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, err: "tool_call_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, req, err := RequestBodyToAnthropic([]byte(tc.in), tc.opt)
			if tc.err != "" {
				var te *Error
				if !errors.As(err, &te) || te.Status != 400 || !strings.Contains(te.Message, tc.err) {
					t.Fatalf("got %v, want a 400 error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req == nil {
				t.Fatal("the decoded client request is not returned")
			}
			if got, want := canonical(t, string(out)), canonical(t, tc.want); got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			if _, err := anthropic.ParseRequest(out); err != nil {
				t.Fatalf("the output is not a valid Anthropic request: %v", err)
			}
		})
	}
}

func TestRequestToOpenAI(t *testing.T) {
	for _, tc := range []requestCase{
		{name: "minimal",
			in:   `{"model":"gpt","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"gpt","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}`},
		{name: "model override, max_completion_tokens",
			in:   `{"model":"gpt","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}`,
			opt:  RequestOptions{Model: "gpt-5", MaxCompletionTokens: true},
			want: `{"model":"gpt-5","max_completion_tokens":100,"messages":[{"role":"user","content":"Hi"}]}`},
		{name: "system string",
			in:   `{"model":"g","max_tokens":1,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`},
		{name: "system blocks are joined",
			in: `{"model":"g","max_tokens":1,"system":[{"type":"text","text":"One."},{"type":"text","text":"Two.","cache_control":{"type":"ephemeral"}}],
				"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"system","content":"One.\n\nTwo."},{"role":"user","content":"Hi"}]}`},
		{name: "multi-turn with blocks",
			in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]},
				{"role":"assistant","content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]},{"role":"user","content":"Bye"}]}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Bye"}]}`},
		{name: "images by base64 and URL, and a PDF document",
			in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"Compare"},
				{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},
				{"type":"image","source":{"type":"url","url":"https://example.com/b.jpg"}},
				{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},
				{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain text doc"}}]}]}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"Compare"},
				{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},
				{"type":"image_url","image_url":{"url":"https://example.com/b.jpg"}},
				{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"document.pdf"}},
				{"type":"text","text":"plain text doc"}]}]}`},
		{name: "tool use, tool results first then the user's text, images of a result moved after",
			in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"Weather?"},
				{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Checking."},
					{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city": "Paris"}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"18°C"},
					{"type":"image","source":{"type":"url","url":"https://example.com/map.png"}}],"is_error":false},
					{"type":"text","text":"And tomorrow?"}]}]}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"Weather?"},
				{"role":"assistant","content":"Checking.","tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
				{"role":"tool","tool_call_id":"toolu_1","content":"18°C"},
				{"role":"user","content":[{"type":"text","text":"And tomorrow?"},{"type":"image_url","image_url":{"url":"https://example.com/map.png"}}]}]}`},
		{name: "tool result with string content and no other blocks",
			in: `{"model":"g","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"done","is_error":true}]}]}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"t","content":"done"}]}`},
		{name: "tools and tool_choice",
			in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],
				"tools":[{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
				"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
				"tool_choice":"required","parallel_tool_calls":false}`},
		{name: "tool_choice auto", in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"auto"}}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tool_choice":"auto"}`},
		{name: "tool_choice none", in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"none"}}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tool_choice":"none"}`},
		{name: "tool_choice tool", in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"tool","name":"f"}}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"f"}}}`},
		{name: "stop_sequences, temperature, top_p; top_k dropped",
			in:   `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"stop_sequences":["END","\n\nHuman:"],"temperature":0.3,"top_p":0.8,"top_k":40}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"stop":["END","\n\nHuman:"],"temperature":0.3,"top_p":0.8}`},
		{name: "stream asks for the usage chunk; metadata.user_id is user",
			in:   `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"stream":true,"metadata":{"user_id":"u-1"}}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true},"user":"u-1"}`},
		{name: "output_config.format becomes response_format json_schema",
			in:   `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"output","schema":{"type":"object"},"strict":true}}}`},
		{name: "dropped: thinking, service_tier, cache_control, unknown fields",
			in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}],
				"thinking":{"type":"enabled","budget_tokens":1024},"service_tier":"auto","container":"c"}`,
			want: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`},
		{name: "max_tokens is required", in: `{"model":"g","messages":[{"role":"user","content":"x"}]}`, err: "max_tokens"},
		{name: "server tools are refused", in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, err: "server tool"},
		{name: "server tool blocks are refused", in: `{"model":"g","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`, err: "server_tool_use"},
		{name: "bad role", in: `{"model":"g","max_tokens":1,"messages":[{"role":"system","content":"x"}]}`, err: "role"},
		{name: "image by file id is refused", in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, err: "image source type"},
		{name: "tool_choice tool needs a name", in: `{"model":"g","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"tool"}}`, err: "tool_choice.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := RequestBodyToOpenAI([]byte(tc.in), tc.opt)
			if tc.err != "" {
				var te *Error
				if !errors.As(err, &te) || te.Status != 400 || !strings.Contains(te.Message, tc.err) {
					t.Fatalf("got %v, want a 400 error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := canonical(t, string(out)), canonical(t, tc.want); got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			if _, err := openai.ParseChatRequest(out); err != nil {
				t.Fatalf("the output is not a valid OpenAI request: %v", err)
			}
		})
	}
}

// TestRequestRoundTrip translates a request that uses every feature both
// APIs share to the other API and back: it must come back the same.
func TestRequestRoundTrip(t *testing.T) {
	openAIReq := `{"model":"m","max_tokens":500,"temperature":0.5,"top_p":0.9,"stop":["END"],"user":"u","stream":true,
		"stream_options":{"include_usage":true},
		"messages":[{"role":"system","content":"Be brief."},
			{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}}]},
			{"role":"assistant","content":"Calling.","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
			{"role":"tool","tool_call_id":"c1","content":"42"},
			{"role":"user","content":"Thanks"}],
		"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"integer"}}}}}],
		"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false}`
	a, _, err := RequestBodyToAnthropic([]byte(openAIReq), RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := RequestBodyToOpenAI(a, RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canonical(t, string(back)), canonical(t, openAIReq); got != want {
		t.Fatalf("OpenAI → Anthropic → OpenAI:\ngot  %s\nwant %s\nvia  %s", got, want, a)
	}

	anthropicReq := `{"model":"m","max_tokens":500,"temperature":0.5,"top_p":0.9,"stop_sequences":["END"],"metadata":{"user_id":"u"},"stream":true,
		"system":"Be brief.",
		"messages":[{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]},
			{"role":"assistant","content":[{"type":"text","text":"Calling."},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"42"},{"type":"text","text":"Thanks"}]}],
		"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}],
		"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`
	o, _, err := RequestBodyToOpenAI([]byte(anthropicReq), RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	back, _, err = RequestBodyToAnthropic(o, RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canonical(t, string(back)), canonical(t, anthropicReq); got != want {
		t.Fatalf("Anthropic → OpenAI → Anthropic:\ngot  %s\nwant %s\nvia  %s", got, want, o)
	}
}

// FuzzRequestToAnthropic: any body either gives a 400 *Error or a valid
// Anthropic request, never a panic.
func FuzzRequestToAnthropic(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2]}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required","stop":"x","temperature":1.5,"max_tokens":10,"parallel_tool_calls":false}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE"}}]}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{}}}}`,
		`{"model":"m","messages":[],"n":3}`, `[]`, `{"messages":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _, err := RequestBodyToAnthropic(body, RequestOptions{})
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Status != 400 || te.Message == "" {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		var req anthropic.Request
		if err := json.Unmarshal(out, &req); err != nil || req.MaxTokens <= 0 {
			t.Fatalf("output %s: %v", out, err)
		}
	})
}

// FuzzRequestToOpenAI: any body either gives a 400 *Error or a valid
// OpenAI request.
func FuzzRequestToOpenAI(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},"stop_sequences":["x"],"stream":true}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"d"}}]}],"output_config":{"format":{"type":"json_schema","schema":{}}}}`,
		`{"model":"m","max_tokens":0,"messages":[]}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _, err := RequestBodyToOpenAI(body, RequestOptions{})
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Status != 400 || te.Message == "" {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		var req openai.ChatRequest
		if err := json.Unmarshal(out, &req); err != nil {
			t.Fatalf("output %s: %v", out, err)
		}
	})
}
