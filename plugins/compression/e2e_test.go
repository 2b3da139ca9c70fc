package compression_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/moongate/moongate/core/compress"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/cache"
	_ "github.com/moongate/moongate/plugins/compression"
	"github.com/valyala/fasthttp"
)

// doc is an API-like JSON document of n records.
func doc(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":` + strconv.Itoa(i) + `,"name":"item ` + strconv.Itoa(i*7%1000) + `","status":"shipped"}`)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func decoded(t *testing.T, resp *fasthttp.Response, body []byte) []byte {
	t.Helper()
	var e compress.Encoding
	switch ce := string(resp.Header.Peek("Content-Encoding")); ce {
	case "":
		return body
	case "gzip":
		e = compress.Gzip
	case "br":
		e = compress.Brotli
	case "zstd":
		e = compress.Zstd
	default:
		t.Fatalf("Content-Encoding %q", ce)
	}
	out, err := compress.AppendDecompressed(nil, body, e, 64<<20)
	if err != nil {
		t.Fatalf("%s body does not decode: %v", e, err)
	}
	return out
}

// TestWithCache: the same cached response goes to clients that accept
// different codings, each getting its own, never another's: with the
// compression step after the cache (each encoding stored as a variant)
// and before it (the identity body stored once, compressed on every hit).
func TestWithCache(t *testing.T) {
	body := doc(200)
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		ctx.SetBody(body)
	})
	g := gatewaytest.Start(t, `
[cache]
size = "32MB"
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
name = "variants"
paths = ["/variants/"]
upstream = "app"
  [[routes.plugins]]
  name = "cache"
  [[routes.plugins]]
  name = "compression"
[[routes]]
name = "identity"
paths = ["/identity/"]
upstream = "app"
  [[routes.plugins]]
  name = "compression"
  [[routes.plugins]]
  name = "cache"
`)
	clients := []struct {
		accept, want string
	}{
		{"gzip", "gzip"},
		{"", ""},
		{"br;q=1, gzip;q=0.5", "br"},
		{"identity", ""},
		{"zstd, gzip", "zstd"},
	}
	for _, route := range []struct {
		path   string
		misses int64 // upstream requests for the five clients, twice each
	}{
		{"/variants/list", 5},
		{"/identity/list", 1},
	} {
		before := u.Hits()
		for round := 0; round < 2; round++ {
			for _, cl := range clients {
				var headers []string
				if cl.accept != "" {
					headers = []string{"Accept-Encoding", cl.accept}
				}
				status, got, resp := gatewaytest.Do(t, "GET", g.URL+route.path, nil, headers...)
				ce := string(resp.Header.Peek("Content-Encoding"))
				if status != 200 || ce != cl.want {
					t.Fatalf("%s round %d, Accept-Encoding %q: status %d, Content-Encoding %q, want %q (X-Cache-Status %s)",
						route.path, round, cl.accept, status, ce, cl.want, resp.Header.Peek("X-Cache-Status"))
				}
				if !bytes.Equal(decoded(t, resp, got), body) {
					t.Fatalf("%s, Accept-Encoding %q: body does not decode to the upstream's", route.path, cl.accept)
				}
				if !strings.Contains(string(resp.Header.Peek("Vary")), "Accept-Encoding") {
					t.Fatalf("%s: Vary %q", route.path, resp.Header.Peek("Vary"))
				}
				if round == 1 && string(resp.Header.Peek("X-Cache-Status")) != "HIT" {
					t.Fatalf("%s round 1, Accept-Encoding %q: X-Cache-Status %s", route.path, cl.accept, resp.Header.Peek("X-Cache-Status"))
				}
			}
		}
		if n := u.Hits() - before; n != route.misses {
			t.Fatalf("%s: %d upstream requests, want %d", route.path, n, route.misses)
		}
	}
}

// TestStreams: a body over the upstream's stream_threshold is compressed
// as it streams; an HTTP/1.0 client gets it uncompressed with its length;
// a live event stream is compressed with a flush after every event, so the
// first event reaches the client while the upstream still holds the second.
func TestStreamsEndToEnd(t *testing.T) {
	big := doc(60000) // ~3 MB
	release := make(chan struct{})
	defer close(release)
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/big":
			ctx.SetContentType("application/json")
			ctx.SetBody(big)
		case "/events":
			ctx.SetContentType("text/event-stream")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				_, _ = w.WriteString("data: 1\n\n")
				_ = w.Flush()
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
				_, _ = w.WriteString("data: 2\n\n")
			})
		}
	})
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "compression"
  [routes.plugins.config]
  streaming = true
  encodings = ["gzip"]
`)
	status, got, resp := gatewaytest.Do(t, "GET", g.URL+"/big", nil, "Accept-Encoding", "gzip")
	if status != 200 || string(resp.Header.Peek("Content-Encoding")) != "gzip" || len(got) > len(big)/3 {
		t.Fatalf("status %d, Content-Encoding %q, %d bytes", status, resp.Header.Peek("Content-Encoding"), len(got))
	}
	if !bytes.Equal(decoded(t, resp, got), big) {
		t.Fatal("the streamed body does not decode to the upstream's")
	}

	head, br := rawGet(t, g.URL, "/big", "HTTP/1.0")
	if strings.Contains(head, "Content-Encoding") || !strings.Contains(head, "Content-Length: "+strconv.Itoa(len(big))) {
		t.Fatalf("HTTP/1.0 head:\n%s", head)
	}
	if n, _ := io.Copy(io.Discard, br); n != int64(len(big)) {
		t.Fatalf("HTTP/1.0 body: %d bytes", n)
	}

	head, br = rawGet(t, g.URL, "/events", "HTTP/1.1")
	if !strings.Contains(head, "Content-Encoding: gzip") || !strings.Contains(head, "Transfer-Encoding: chunked") {
		t.Fatalf("event stream head:\n%s", head)
	}
	zr, err := gzip.NewReader(httputil.NewChunkedReader(br))
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(zr).ReadString('\n')
	if err != nil || line != "data: 1\n" {
		t.Fatalf("first event: %q, %v (not flushed before the upstream's next event?)", line, err)
	}
}

// rawGet sends a GET on a new connection and returns the response head
// and a reader positioned at the body.
func rawGet(t *testing.T, base, path, proto string) (string, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET " + path + " " + proto + "\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head: %v (%q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			return head.String(), br
		}
	}
}
