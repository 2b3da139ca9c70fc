package origin_test

import (
	"io"
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

func TestLargeBodiesAndUpload(t *testing.T) {
	_, base := start(t)
	resp := get(t, base+origin.MegaPath)
	if resp.StatusCode() != 200 || string(resp.Body()) != string(origin.Body(origin.MegaSize)) {
		t.Errorf("GET %s: status %d, %d bytes; want 200 and origin.Body(%d)", origin.MegaPath, resp.StatusCode(), len(resp.Body()), origin.MegaSize)
	}
	// The streamed body, read as a stream, is Body(StreamSize) byte for byte.
	req, sresp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(sresp)
	req.SetRequestURI(base + origin.StreamPath)
	sresp.StreamBody = true
	c := &fasthttp.Client{StreamResponseBody: true, MaxResponseBodySize: 1}
	if err := c.DoTimeout(req, sresp, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if sresp.StatusCode() != 200 || sresp.Header.ContentLength() != origin.StreamSize {
		t.Fatalf("GET %s: status %d, Content-Length %d", origin.StreamPath, sresp.StatusCode(), sresp.Header.ContentLength())
	}
	got, want := make([]byte, 64<<10), make([]byte, 64<<10)
	wantR := origin.NewBodyReader(origin.StreamSize)
	var n int64
	for {
		k, err := io.ReadFull(sresp.BodyStream(), got)
		if k > 0 {
			io.ReadFull(wantR, want[:k])
			if string(got[:k]) != string(want[:k]) {
				t.Fatalf("streamed body differs from the pattern within bytes %d-%d", n, n+int64(k))
			}
			n += int64(k)
		}
		if err != nil {
			break
		}
	}
	if n != origin.StreamSize {
		t.Errorf("streamed body: %d bytes, want %d", n, origin.StreamSize)
	}
	// The reader and Body agree, the last byte included.
	small, _ := io.ReadAll(origin.NewBodyReader(100_003))
	if string(small) != string(origin.Body(100_003)) {
		t.Error("NewBodyReader(100 003) differs from Body(100 003)")
	}

	// An upload larger than fasthttp's default body limit is read to its end.
	up := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(up)
	up.SetRequestURI(base + origin.UploadPath)
	up.Header.SetMethod("POST")
	up.SetBodyStream(origin.NewBodyReader(10<<20), 10<<20)
	uresp := &fasthttp.Response{}
	if err := fasthttp.DoTimeout(up, uresp, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if uresp.StatusCode() != 200 || string(uresp.Body()) != "10485760" {
		t.Errorf("POST %s of 10 MiB: status %d, body %q; want 200, \"10485760\"", origin.UploadPath, uresp.StatusCode(), uresp.Body())
	}
	if got := string(get(t, base+origin.BytesPath).Body()); got != "10485760" {
		t.Errorf("GET %s = %q after a 10 MiB upload, want \"10485760\"", origin.BytesPath, got)
	}
}
