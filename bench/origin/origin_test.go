package origin_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/bench/origin"
	"github.com/valyala/fasthttp"
)

func start(t *testing.T) (*origin.Origin, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := origin.New()
	srv := o.Server()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return o, "http://" + ln.Addr().String()
}

func get(t *testing.T, url string, headers ...string) *fasthttp.Response {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), &fasthttp.Response{}
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(url)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestBodies(t *testing.T) {
	_, base := start(t)
	for _, tc := range []struct {
		path string
		size int
	}{{origin.SmallPath, origin.SmallSize}, {origin.LargePath, origin.LargeSize}} {
		resp := get(t, base+tc.path)
		if resp.StatusCode() != 200 || len(resp.Body()) != tc.size {
			t.Errorf("GET %s: status %d, %d bytes; want 200, %d", tc.path, resp.StatusCode(), len(resp.Body()), tc.size)
		}
		if string(resp.Body()) != string(origin.Body(tc.size)) {
			t.Errorf("GET %s: body differs from origin.Body(%d)", tc.path, tc.size)
		}
		if got := string(resp.Header.Peek("Cache-Control")); got != origin.CacheControl {
			t.Errorf("GET %s: Cache-Control %q, want %q", tc.path, got, origin.CacheControl)
		}
		if resp.ConnectionClose() {
			t.Errorf("GET %s: the origin closes the connection; it must keep it alive", tc.path)
		}
	}
	if resp := get(t, base+"/nope"); resp.StatusCode() != 404 {
		t.Errorf("GET /nope: status %d, want 404", resp.StatusCode())
	}
}

func TestInspectAndHits(t *testing.T) {
	o, base := start(t)
	resp := get(t, base+origin.InspectPath, "X-Gateway", "bench", "X-Request-Id", "abc")
	body := string(resp.Body())
	for _, want := range []string{"X-Gateway: bench\n", "X-Request-Id: abc\n", "Host: 127.0.0.1"} {
		if !strings.Contains(body, want) {
			t.Errorf("inspect body %q lacks %q", body, want)
		}
	}
	get(t, base+origin.SmallPath)
	if got := o.Hits(); got != 2 {
		t.Errorf("Hits() = %d after two requests, want 2", got)
	}
	if got := string(get(t, base+origin.HitsPath).Body()); got != "2" {
		t.Errorf("GET %s = %q, want \"2\" (not counting itself)", origin.HitsPath, got)
	}
}
