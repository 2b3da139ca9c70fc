package echo

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestHandler(t *testing.T) {
	fc := &fasthttp.RequestCtx{}
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/a/../b//c?x=1&y=2")
	req.Header.SetHost("api.example.com")
	req.Header.Add("X-Tag", "one")
	req.Header.Add("X-Tag", "two")
	req.Header.Set("Content-Type", "application/json")
	req.SetBodyString(`{"n":1}`)
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4321}, nil)
	Handler(fc)

	if ct := string(fc.Response.Header.ContentType()); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var r Reply
	if err := json.Unmarshal(fc.Response.Body(), &r); err != nil {
		t.Fatalf("%v: %s", err, fc.Response.Body())
	}
	// The path as received, not normalized: the demo shows what reached it.
	if r.Method != "POST" || r.Path != "/a/../b//c" || r.Query != "x=1&y=2" || r.Host != "api.example.com" ||
		r.Body != `{"n":1}` || r.From != "192.0.2.7:4321" {
		t.Fatalf("reply %+v", r)
	}
	if r.Headers["X-Tag"] != "one, two" || r.Headers["Content-Type"] != "application/json" {
		t.Fatalf("headers %v", r.Headers)
	}
}

func TestServer(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var req fasthttp.Request
	var resp fasthttp.Response
	req.SetRequestURI("http://" + s.ln.Addr().String() + "/hello")
	if err := (&fasthttp.Client{}).DoTimeout(&req, &resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var r Reply
	if err := json.Unmarshal(resp.Body(), &r); err != nil || r.Method != "GET" || r.Path != "/hello" {
		t.Fatalf("%v: %s", err, resp.Body())
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}
