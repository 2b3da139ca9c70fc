package openai

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestChatRequestRoundTrip decodes a request that uses every union form
// and encodes it back to the same JSON.
func TestChatRequestRoundTrip(t *testing.T) {
	in := `{"model":"gpt-4o","messages":[` +
		`{"role":"system","content":"s"},` +
		`{"role":"user","content":[{"type":"text","text":""},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA==","detail":"low"}},` +
		`{"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}},{"type":"file","file":{"file_data":"data:application/pdf;base64,JV","filename":"a.pdf"}}]},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`{"role":"tool","content":"r","tool_call_id":"c"}],` +
		`"temperature":0.5,"top_p":1,"n":1,"stop":["a"],"max_tokens":5,"max_completion_tokens":6,"stream":true,"stream_options":{"include_usage":true},` +
		`"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"},"strict":true}}],` +
		`"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,` +
		`"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"},"strict":true}},"user":"u"}`
	r, err := ParseChatRequest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := r.MaxOutputTokens(); !ok || n != 6 || !r.IncludeUsage() {
		t.Fatalf("MaxOutputTokens %d %v, IncludeUsage %v", n, ok, r.IncludeUsage())
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// The assistant's null content is left out on the way back (OpenAI
	// accepts both).
	want := strings.Replace(in, `"content":null,`, "", 1)
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

func TestUnions(t *testing.T) {
	var s Stop
	if err := json.Unmarshal([]byte(`"x"`), &s); err != nil || len(s) != 1 || s[0] != "x" {
		t.Fatalf("stop string: %v %v", s, err)
	}
	if err := json.Unmarshal([]byte(`5`), &s); err == nil {
		t.Fatal("stop number: no error")
	}
	var tc ToolChoice
	if err := json.Unmarshal([]byte(`"required"`), &tc); err != nil || tc.Mode != "required" {
		t.Fatalf("tool_choice string: %+v %v", tc, err)
	}
	if err := json.Unmarshal([]byte(`{"type":"allowed_tools"}`), &tc); err == nil {
		t.Fatal("unsupported tool_choice object: no error")
	}
	var c Content
	if err := json.Unmarshal([]byte(`{"a":1}`), &c); err == nil {
		t.Fatal("content object: no error")
	}
	c = Content{Parts: []ContentPart{{Type: PartText, Text: "a"}, {Type: PartRefusal, Refusal: "b"}}}
	if got := c.JoinText("|"); got != "a|b" {
		t.Fatalf("JoinText %q", got)
	}
}

func TestParseChatRequestErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{"messages":[{"role":"user","content":"x"}]}`: "model is required",
		`{"model":"m"}`: "messages",
		`{"model":"m","messages":[{"role":"user","content":5}]}`: "content",
		`{"model":"m","messages":"x"}`:                           "messages",
		`{"model":"m","temperature":"hot","messages":[]}`:        "temperature",
		`[1]`:       "JSON object",
		`{"model":`: "not valid JSON",
		`{"model":"m","messages":[{"role":"user","content":"x"}],}`: "not valid JSON",
	} {
		_, err := ParseChatRequest([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseChatRequest(%s) = %v, want an error about %q", in, err, want)
		}
	}
	if _, err := ParseEmbeddingRequest([]byte(`{"model":"e"}`)); err == nil {
		t.Error("embeddings without input: no error")
	}
	if r, err := ParseEmbeddingRequest([]byte(`{"model":"e","input":["a","b"],"dimensions":3}`)); err != nil || *r.Dimensions != 3 {
		t.Errorf("embeddings: %v", err)
	}
}
