package authtest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/requestsizelimit"
	_ "github.com/moongate/moongate/plugins/requesttermination"
	"github.com/valyala/fasthttp"
	"golang.org/x/crypto/bcrypt"
)

// TestBasicAuth: a bcrypt and a plain password through a real gateway;
// the table of malformed and wrong credentials is a unit test of
// plugins/basicauth.
func TestBasicAuth(t *testing.T) {
	u := startRecorder(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret pass:word"), bcrypt.MinCost)
	g := gatewaytest.Start(t, upstreamTOML(u)+`
[[consumers]]
name = "alice"
basic_auth = [{ username = "alice", password = "`+string(hash)+`" }]
[[consumers]]
name = "bob"
basic_auth = [{ username = "bob", password = "plain-pw" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "basic-auth"
  [routes.plugins.config]
  hide_credentials = true
`)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		auth   string
		status int
	}{
		{"Basic " + b64("alice:s3cret pass:word"), 200},
		{"Basic " + b64("bob:plain-pw"), 200},
		{"Basic " + b64("alice:wrong"), 401},
		{"Basic !!!not-base64!!!", 401},
		{"", 401},
	}
	for _, tc := range cases {
		var h []string
		if tc.auth != "" {
			h = []string{"Authorization", tc.auth}
		}
		status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/x", nil, h...)
		if status != tc.status {
			t.Fatalf("%.40q: status %d, want %d: %s", tc.auth, status, tc.status, body)
		}
		if status == 401 && string(resp.Header.Peek("WWW-Authenticate")) != `Basic realm="moongate", charset="UTF-8"` {
			t.Fatalf("WWW-Authenticate %q", resp.Header.Peek("WWW-Authenticate"))
		}
		if status == 200 && len(u.last(t).header("Authorization")) != 0 {
			t.Fatal("hide_credentials: Authorization forwarded")
		}
	}
	if u.Hits() != 2 {
		t.Fatalf("upstream hits %d, want 2", u.Hits())
	}
}

func TestSizeLimitAndTermination(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, upstreamTOML(u)+`
[[routes]]
paths = ["/upload"]
upstream = "app"
  [[routes.plugins]]
  name = "request-size-limit"
  [routes.plugins.config]
  max = "1KB"
[[routes]]
paths = ["/old/"]
upstream = "app"
  [[routes.plugins]]
  name = "request-termination"
  [routes.plugins.config]
  status = 503
  message = "down for maintenance"
  retry_after = "2m"
`)
	if status, _, _ := gatewaytest.Do(t, "POST", g.URL+"/upload", make([]byte, 1024)); status != 200 {
		t.Fatalf("1KB: status %d", status)
	}
	if status, _, _ := gatewaytest.Do(t, "POST", g.URL+"/upload", make([]byte, 1025)); status != 413 {
		t.Fatalf("1KB+1: status %d, want 413", status)
	}
	status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/old/x", nil)
	if status != 503 || !strings.Contains(string(body), "down for maintenance") || string(resp.Header.Peek("Retry-After")) != "120" {
		t.Fatalf("termination: %d %s Retry-After %q", status, body, resp.Header.Peek("Retry-After"))
	}
	if u.Hits() != 1 {
		t.Fatalf("upstream hits %d, want 1", u.Hits())
	}
}

// A chunked body (no Content-Length) larger than buffer_body_size streams
// to the upstream: request-size-limit must still stop it past its limit,
// with 413, and never hand the upstream a body in its place.
func TestSizeLimitOnStreamedBody(t *testing.T) {
	var got [][]byte
	var mu sync.Mutex
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		got = append(got, append([]byte(nil), ctx.PostBody()...))
		mu.Unlock()
	})
	g := gatewaytest.Start(t, `[server]
listen = "127.0.0.1:0"
buffer_body_size = "64KB"
max_body_size = "8MB"
[[upstreams]]
name = "app"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/upload"]
upstream = "app"
  [[routes.plugins]]
  name = "request-size-limit"
  [routes.plugins.config]
  max = "1MB"
`)
	// post sends a chunked body of n bytes and reads the answer while it
	// is still sending: a gateway refusing early may close before the
	// client is done writing.
	post := func(n int) int {
		conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		go func() {
			fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := bytes.Repeat([]byte("z"), 64<<10)
			for sent := 0; sent < n; sent += len(chunk) {
				if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
			}
			fmt.Fprintf(conn, "0\r\n\r\n")
		}()
		var resp fasthttp.Response
		if err := resp.Read(bufio.NewReader(conn)); err != nil {
			t.Fatalf("%d bytes: reading the answer: %v", n, err)
		}
		return resp.StatusCode()
	}
	if st := post(512 << 10); st != 200 {
		t.Fatalf("512KB chunked: status %d, want 200", st)
	}
	for _, n := range []int{3 << 20, 9 << 20} { // over the route's limit; then over max_body_size too
		if st := post(n); st != 413 {
			t.Fatalf("%d-byte chunked body: status %d, want 413", n, st)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, b := range got {
		if len(b) != 512<<10 {
			t.Errorf("upstream request %d had a %d-byte body; only the 512KB one may arrive whole", i, len(b))
		}
	}
}
