package reqctx

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

func TestValues(t *testing.T) {
	var c Context
	for i := 0; i < 12; i++ { // past the inline slots
		c.SetValue(string(rune('a'+i)), i)
	}
	c.SetValue("c", "changed")
	c.SetValue("k", nil)
	if c.Value("a") != 0 || c.Value("c") != "changed" || c.Value("l") != 11 || c.Value("k") != nil || c.Value("zz") != nil {
		t.Errorf("values: a=%v c=%v l=%v k=%v", c.Value("a"), c.Value("c"), c.Value("l"), c.Value("k"))
	}
	n := 0
	c.VisitValues(func(string, any) { n++ })
	if n != 11 {
		t.Errorf("visited %d values, want 11", n)
	}
}

func TestSetPathKeepsDecodedPercent(t *testing.T) {
	var req fasthttp.Request
	req.SetRequestURI("/x")
	c := Context{Request: &req}
	c.SetPath([]byte("/files/%2e%2e/a b?"))
	if got := string(c.Path()); got != "/files/%2e%2e/a b?" {
		t.Errorf("Path() = %q", got)
	}
	if got := string(req.URI().RequestURI()); got != "/files/%252e%252e/a%20b%3F" {
		t.Errorf("sent as %q", got)
	}
}

func TestWriteErrorEscapes(t *testing.T) {
	var resp fasthttp.Response
	WriteError(&resp, 400, "bad \"thing\"\n<script>", []byte("id-1"))
	want := `{"error":"bad \"thing\"\n\u003cscript\u003e","status":400,"request_id":"id-1"}` + "\n"
	if string(resp.Body()) != want || resp.StatusCode() != 400 || string(resp.Header.ContentType()) != "application/json" {
		t.Errorf("got %d %q %s", resp.StatusCode(), resp.Header.ContentType(), resp.Body())
	}
}

// TestWriteErrorInvalidUTF8: a message or request ID with bytes that are
// not UTF-8 (a script's error text, a client's ID) still makes a valid
// JSON body, each bad byte read as U+FFFD.
func TestWriteErrorInvalidUTF8(t *testing.T) {
	var resp fasthttp.Response
	WriteError(&resp, 500, "bad \xff byte", []byte("id-\xc3"))
	var got struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	// JSON text is UTF-8 (RFC 8259 §8.1); encoding/json alone would
	// accept the bad bytes.
	if !utf8.Valid(resp.Body()) {
		t.Fatalf("body is not UTF-8: %q", resp.Body())
	}
	if err := json.Unmarshal(resp.Body(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Error != "bad \uFFFD byte" || got.RequestID != "id-\uFFFD" {
		t.Errorf("got %q, %q; want %q, %q", got.Error, got.RequestID, "bad \uFFFD byte", "id-\uFFFD")
	}
}
