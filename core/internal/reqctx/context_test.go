package reqctx

import (
	"testing"

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
