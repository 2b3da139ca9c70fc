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

// A step that holds the log phase (a streamed answer that learns its
// usage at its end) delays it until it lets go, whichever of the engine
// and the step finishes last; the log phase is queued once. Routes
// without a log phase refuse holds.
func TestHoldLog(t *testing.T) {
	var c Context
	if c.HoldLog() {
		t.Fatal("a context without a route held its log phase")
	}
	c.route = &Route{HasLog: false}
	if c.HoldLog() {
		t.Fatal("a route without a log phase held it")
	}
	queued := 0
	queue := func(*Context) { queued++ }

	c.route = &Route{HasLog: true}
	if !c.HoldLog() {
		t.Fatal("HoldLog refused")
	}
	c.FinishLog(queue)
	if queued != 0 {
		t.Fatal("the log phase was queued while held")
	}
	c.ReleaseLog()
	if queued != 1 {
		t.Fatalf("queued %d times after the release, want 1", queued)
	}

	// Released before the engine is done (a response step replaced the
	// stream): queued when the engine finishes.
	var d Context
	d.route = &Route{HasLog: true}
	d.HoldLog()
	d.ReleaseLog()
	d.FinishLog(queue)
	if queued != 2 || d.HoldLog() {
		t.Fatalf("queued %d, want 2; a hold after the engine finished must be refused", queued)
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
