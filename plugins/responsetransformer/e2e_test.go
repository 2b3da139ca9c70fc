package responsetransformer_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/compress"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/responsetransformer"
	"github.com/valyala/fasthttp"
)

// upstream serves JSON plain (/plain), gzip-compressed (/gz) and as a
// live event stream (/events) that sends one event, then waits for
// release before the second.
func upstream(t *testing.T, release chan struct{}) *gatewaytest.Upstream {
	gz, err := compress.NewCompressor(compress.Gzip, 5)
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"user":"bob","password":"hunter2","items":[1,2]}`)
	return gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Server", "upstream/1.0")
		switch string(ctx.Path()) {
		case "/plain", "/other/plain":
			ctx.SetContentType("application/json")
			ctx.SetBody(doc)
		case "/gz", "/other/gz":
			ctx.SetContentType("application/json")
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(gz.Append(nil, doc))
		case "/events":
			ctx.SetContentType("text/event-stream")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				_, _ = w.WriteString("data: {\"password\":\"x\"}\n\n")
				_ = w.Flush()
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
				_, _ = w.WriteString("data: end\n\n")
			})
		}
	})
}

func start(t *testing.T, release chan struct{}) *gatewaytest.Gateway {
	u := upstream(t, release)
	return gatewaytest.Start(t, `
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
name = "edit"
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "response-transformer"
  [routes.plugins.config.remove]
  headers = ["Server"]
  body = ["password"]
  [routes.plugins.config.add]
  headers = { "X-Edited" = "yes" }
  body = { "meta.edited" = true }
[[routes]]
name = "decoding"
paths = ["/other/"]
upstream = "app"
  [[routes.plugins]]
  name = "response-transformer"
  [routes.plugins.config]
  decompress = true
  [routes.plugins.config.remove]
  body = ["password"]
`)
}

// TestEndToEnd: the client gets the edited JSON body with a
// Content-Length that matches it, and the header changes.
func TestEndToEnd(t *testing.T) {
	g := start(t, nil)
	status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/plain", nil)
	want := `{"user":"bob","items":[1,2],"meta":{"edited":true}}`
	if status != 200 || string(body) != want {
		t.Fatalf("status %d, body %s", status, body)
	}
	if resp.Header.ContentLength() != len(want) {
		t.Fatalf("Content-Length %d for %d bytes", resp.Header.ContentLength(), len(want))
	}
	if strings.HasPrefix(string(resp.Header.Peek("Server")), "upstream") || string(resp.Header.Peek("X-Edited")) != "yes" {
		t.Fatalf("headers:\n%s", resp.Header.String())
	}
}

// TestCompressedBody: a gzip body is left as it is where the step does not
// decompress, and edited (sent decoded, with its new length) where it
// does.
func TestCompressedBody(t *testing.T) {
	g := start(t, nil)
	_, body, resp := gatewaytest.Do(t, "GET", g.URL+"/gz", nil, "Accept-Encoding", "gzip")
	if string(resp.Header.Peek("Content-Encoding")) != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Peek("Content-Encoding"))
	}
	plain, err := compress.AppendDecompressed(nil, body, compress.Gzip, 1<<20)
	if err != nil || !strings.Contains(string(plain), "hunter2") {
		t.Fatalf("the compressed body was changed: %v %q", err, plain)
	}
	_, body, resp = gatewaytest.Do(t, "GET", g.URL+"/other/gz", nil, "Accept-Encoding", "gzip")
	want := `{"user":"bob","items":[1,2]}`
	if string(body) != want || len(resp.Header.Peek("Content-Encoding")) != 0 || resp.Header.ContentLength() != len(want) {
		t.Fatalf("decompressed: body %q, Content-Encoding %q, Content-Length %d", body, resp.Header.Peek("Content-Encoding"), resp.Header.ContentLength())
	}
}

// TestStreamNotHeldBack: the first event of a live stream reaches the
// client while the upstream is still holding the second one back (the
// step does not wait for the end of a stream to edit it); the header
// changes apply.
func TestStreamNotHeldBack(t *testing.T) {
	release := make(chan struct{})
	g := start(t, release)
	defer close(release)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
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
			break
		}
	}
	if !strings.Contains(head.String(), "X-Edited: yes") || strings.Contains(head.String(), "Server: upstream") {
		t.Fatalf("head:\n%s", head.String())
	}
	var got strings.Builder
	for !strings.Contains(got.String(), "data: {\"password\":\"x\"}") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the first event did not come before the upstream ended the stream: %v (%q)", err, got.String())
		}
		got.WriteString(line)
	}
}
