package floor_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/bench/floor"
	"github.com/moongate/moongate/bench/origin"
	"github.com/valyala/fasthttp"
)

func serve(t testing.TB, srv *fasthttp.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

func do(t *testing.T, req *fasthttp.Request) *fasthttp.Response {
	t.Helper()
	resp := &fasthttp.Response{}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestForwards(t *testing.T) {
	o := origin.New()
	up := serve(t, o.Server())
	proxy := serve(t, floor.New(up).Server())

	var req fasthttp.Request
	req.SetRequestURI("http://" + proxy + origin.LargePath)
	resp := do(t, &req)
	if resp.StatusCode() != 200 || string(resp.Body()) != string(origin.Body(origin.LargeSize)) {
		t.Fatalf("GET %s: status %d, %d bytes; want 200 and the origin's body", origin.LargePath, resp.StatusCode(), len(resp.Body()))
	}

	req.SetRequestURI("http://" + proxy + origin.InspectPath)
	req.Header.Set("X-Forwarded-For", "6.6.6.6") // a client's claim: replaced, not believed
	body := string(do(t, &req).Body())
	for _, want := range []string{"X-Forwarded-For: 127.0.0.1\n", "X-Real-Ip: 127.0.0.1\n",
		"X-Forwarded-Proto: http\n", "X-Forwarded-Host: " + proxy + "\n", "Host: " + up + "\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("the origin received\n%s\nwithout %q", body, want)
		}
	}
	if o.Hits() != 2 {
		t.Errorf("origin hits %d, want 2", o.Hits())
	}
}

func TestConnectionClose(t *testing.T) {
	up := serve(t, origin.New().Server())
	proxy := serve(t, floor.New(up).Server())
	var req fasthttp.Request
	req.SetRequestURI("http://" + proxy + origin.SmallPath)
	req.SetConnectionClose()
	if resp := do(t, &req); !resp.ConnectionClose() {
		t.Error("a client asking for Connection: close did not get it back")
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	proxy := serve(t, floor.New(dead).Server())
	var req fasthttp.Request
	req.SetRequestURI("http://" + proxy + origin.SmallPath)
	if resp := do(t, &req); resp.StatusCode() != 502 {
		t.Errorf("upstream down: status %d, want 502", resp.StatusCode())
	}
}
