package hmacauth

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/redistest"
	"github.com/valyala/fasthttp"
)

// TestSignedRequestsEndToEnd: a signed request through a real gateway
// reaches the upstream as alice; replayed, or sent to another path than
// the one signed, it does not. The table of signatures is a unit test
// (hmacauth_test.go).
func TestSignedRequestsEndToEnd(t *testing.T) {
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(string(ctx.Request.Header.Peek("X-Consumer-Name")))
	})
	g := gatewaytest.Start(t, `
[[consumers]]
name = "alice"
hmac_secrets = [{ key = "alice-hmac", secret = "`+secret+`" }]
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "hmac-auth"
  [routes.plugins.config]
  algorithms = ["hmac-sha256"]
`)
	now := time.Now().UTC().Format(http.TimeFormat)
	valid := signed{method: "GET", target: "/orders?id=1", date: now, headers: "@request-target date"}
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/orders?id=1", nil, valid.authorization()...); status != 200 || string(body) != "alice" {
		t.Fatalf("valid: status %d, upstream saw %q", status, body)
	}
	if status, _, resp := gatewaytest.Do(t, "GET", g.URL+"/orders?id=1", nil, valid.authorization()...); status != 401 || len(resp.Header.Peek("WWW-Authenticate")) == 0 {
		t.Fatalf("replayed: status %d", status)
	}
	other := signed{method: "GET", target: "/orders?id=2", date: now, headers: "@request-target date"}
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/admin?id=2", nil, other.authorization()...); status != 401 {
		t.Fatalf("signed for another path: status %d", status)
	}
	if u.Hits() != 1 {
		t.Fatalf("upstream hits %d, want 1", u.Hits())
	}
}

// TestReplayOnAnotherNodeRefused is the attack of a client who captured a
// signed request sent to one node of a cluster and replays it, byte for
// byte, to another node (the load balancer lets it choose): with [redis],
// the second node refuses it as the first would, and the upstream sees
// the request once. While Redis is away, each node still refuses the
// repeats it saw itself, and says in the log that it decides alone.
func TestReplayOnAnotherNodeRefused(t *testing.T) {
	rd := redistest.Start(t)
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(string(ctx.Request.Header.Peek("X-Consumer-Name")))
	})
	conf := `
[redis]
addresses = ["` + rd.Addr + `"]

[[consumers]]
name = "alice"
hmac_secrets = [{ key = "alice-hmac", secret = "` + secret + `" }]
[[upstreams]]
name = "app"
targets = [{ url = "` + u.URL + `" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "hmac-auth"
  [routes.plugins.config]
  redis_timeout = "2s"
`
	var logB lockedBuffer
	a := gatewaytest.Start(t, conf)
	b := gatewaytest.StartWithLogger(t, conf, slog.New(slog.NewTextHandler(&logB, nil)))
	now := time.Now().UTC().Format(http.TimeFormat)
	captured := signed{method: "GET", target: "/orders?id=1", date: now, headers: "@request-target date"}
	if status, body, _ := gatewaytest.Do(t, "GET", a.URL+"/orders?id=1", nil, captured.authorization()...); status != 200 || string(body) != "alice" {
		t.Fatalf("the client's request on node a: status %d, upstream saw %q", status, body)
	}
	status, body, _ := gatewaytest.Do(t, "GET", b.URL+"/orders?id=1", nil, captured.authorization()...)
	if status != 401 || !strings.Contains(string(body), "signature already used") || u.Hits() != 1 {
		t.Fatalf("replayed on node b: status %d %s, upstream hits %d; want 401 and 1 hit", status, body, u.Hits())
	}

	rd.Stop()
	second := signed{method: "GET", target: "/orders?id=2", date: now, headers: "@request-target date"}
	if status, _, _ := gatewaytest.Do(t, "GET", b.URL+"/orders?id=2", nil, second.authorization()...); status != 200 {
		t.Fatalf("Redis down, a new signature on node b: status %d, want 200", status)
	}
	if status, _, _ := gatewaytest.Do(t, "GET", b.URL+"/orders?id=2", nil, second.authorization()...); status != 401 {
		t.Fatalf("Redis down, replayed on the same node: status %d, want 401", status)
	}
	if !strings.Contains(logB.String(), "hmac-auth replay protection: redis failed") {
		t.Errorf("no log line about Redis failing:\n%s", logB.String())
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
