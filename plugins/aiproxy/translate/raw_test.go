package translate

import (
	"encoding/json"
	"testing"
)

// TestSetModelKeepsUnknownFields: a body forwarded to a provider of the
// client's own API kind keeps every member, known or not, byte for byte;
// only the model changes, in every occurrence.
func TestSetModelKeepsUnknownFields(t *testing.T) {
	in := `{"model":"alias","messages":[{"role":"user","content":"x","future_part":{"a":[1,2]}}],"brand_new_param":{"deep":true},"model":"smuggled"}`
	out, err := SetModel([]byte(in), `gpt-4o "2024"`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"gpt-4o \"2024\"","messages":[{"role":"user","content":"x","future_part":{"a":[1,2]}}],"brand_new_param":{"deep":true},"model":"gpt-4o \"2024\""}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	if Model(out) != `gpt-4o "2024"` {
		t.Fatalf("Model = %q", Model(out))
	}
	if _, err := SetModel([]byte(`not json`), "m"); err == nil {
		t.Fatal("no error for a body that is not JSON")
	}
}

func TestModelAndStreaming(t *testing.T) {
	if got := Model([]byte(`{"model":"a","model":"b"}`)); got != "b" {
		t.Fatalf("Model with duplicates = %q, want the last, as decoders read it", got)
	}
	if Model([]byte(`{"model":1}`)) != "" || Model([]byte(`x`)) != "" {
		t.Fatal("Model of a non-string")
	}
	if !Streaming([]byte(`{"stream": true}`)) || Streaming([]byte(`{"stream":"true"}`)) || Streaming([]byte(`{}`)) {
		t.Fatal("Streaming")
	}
}

func TestForceIncludeUsage(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		asked    bool
	}{
		{`{"model":"m","stream":true}`, `{"stream_options":{"include_usage":true},"model":"m","stream":true}`, false},
		{`{"model":"m","stream_options":null}`, `{"model":"m","stream_options":{"include_usage":true}}`, false},
		{`{"model":"m","stream_options":{"include_obfuscation":false}}`, `{"model":"m","stream_options":{"include_usage":true,"include_obfuscation":false}}`, false},
		{`{"model":"m","stream_options":{"include_usage":false}}`, `{"model":"m","stream_options":{"include_usage":true}}`, false},
		{`{"model":"m","stream_options":{"include_usage":true}}`, `{"model":"m","stream_options":{"include_usage":true}}`, true},
	} {
		out, asked, err := ForceIncludeUsage([]byte(tc.in))
		if err != nil || string(out) != tc.want || asked != tc.asked || !json.Valid(out) {
			t.Errorf("ForceIncludeUsage(%s) = %s, %v, %v; want %s, %v", tc.in, out, asked, err, tc.want, tc.asked)
		}
	}
}
