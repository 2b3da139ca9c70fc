package anthropic

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRequestRoundTrip decodes a request with every block type and union
// form and encodes it back to the same JSON.
func TestRequestRoundTrip(t *testing.T) {
	in := `{"model":"claude","max_tokens":100,"messages":[` +
		`{"role":"user","content":"Hi"},` +
		`{"role":"user","content":[{"type":"text","text":"look","cache_control":{"type":"ephemeral"}},` +
		`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}},` +
		`{"type":"image","source":{"type":"url","url":"https://x/y.png"}},` +
		`{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JV"},"title":"t"}]},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"","signature":"s"},{"type":"text","text":""},{"type":"tool_use","id":"t","name":"f","input":{}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}],"is_error":true}]}],` +
		`"system":[{"type":"text","text":"s"}],"stop_sequences":["x"],"temperature":0.2,"top_p":0.9,"top_k":5,"stream":true,` +
		`"metadata":{"user_id":"u"},"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],` +
		`"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"thinking":{"type":"enabled","budget_tokens":1024},` +
		`"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}}`
	r, err := ParseRequest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.Tools[0].IsClientTool() != true || r.Tools[1].IsClientTool() {
		t.Fatal("IsClientTool")
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Fatalf("got  %s\nwant %s", out, in)
	}
}

func TestBlockRequiredMembers(t *testing.T) {
	for _, tc := range []struct {
		b    Block
		want string
	}{
		{Block{Type: BlockText}, `{"type":"text","text":""}`},
		{Block{Type: BlockToolUse, ID: "i", Name: "n"}, `{"type":"tool_use","id":"i","name":"n","input":{}}`},
		{Block{Type: BlockThinking}, `{"type":"thinking","thinking":"","signature":""}`},
		{Block{Type: BlockRedactedThinking, Data: "d"}, `{"type":"redacted_thinking","data":"d"}`},
	} {
		got, err := json.Marshal(tc.b)
		if err != nil || string(got) != tc.want {
			t.Errorf("got %s %v, want %s", got, err, tc.want)
		}
	}
}

func TestParseRequestErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`:            "model",
		`{"model":"m","messages":[{"role":"user","content":"x"}]}`:               "max_tokens",
		`{"model":"m","max_tokens":1}`:                                           "messages",
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":{}}]}`: "content",
		`{"model":"m","max_tokens":"x"}`:                                         "max_tokens",
		`"x"`:                                                                    "JSON object",
		`{`:                                                                      "not valid JSON",
	} {
		_, err := ParseRequest([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRequest(%s) = %v, want an error about %q", in, err, want)
		}
	}
}

func TestStreamEventsDecode(t *testing.T) {
	var d MessageDeltaEvent
	if err := json.Unmarshal([]byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15,"input_tokens":3}}`), &d); err != nil {
		t.Fatal(err)
	}
	if *d.Delta.StopReason != StopEndTurn || d.Usage.OutputTokens != 15 || *d.Usage.InputTokens != 3 || d.Usage.CacheReadInputTokens != nil {
		t.Fatalf("%+v", d)
	}
}
