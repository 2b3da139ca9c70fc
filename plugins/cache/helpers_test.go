package cache_test

import (
	"fmt"
	"os"

	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/store"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/cache"
	"github.com/valyala/fasthttp"
)

// setup starts an upstream serving h and a gateway with one route "r" on
// "/" whose chain is a cache step configured with conf (TOML lines of
// [routes.plugins.config]).
func setup(t *testing.T, h fasthttp.RequestHandler, conf string) (*gatewaytest.Gateway, *gatewaytest.Upstream) {
	t.Helper()
	up := gatewaytest.StartUpstream(t, h)
	g := gatewaytest.Start(t, gatewayTOML(up.URL, conf, ""))
	return g, up
}

func gatewayTOML(upURL, conf, extra string) string {
	return fmt.Sprintf(`%s
[[upstreams]]
name = "up"
targets = [{ url = %q }]
timeout = "5s"

[[routes]]
name = "r"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  name = "cache"
  [routes.plugins.config]
%s
`, extra, upURL, conf)
}

// get sends a request and returns status, body, X-Cache-Status and the response.
func get(t *testing.T, g *gatewaytest.Gateway, method, path string, headers ...string) (int, string, string, *fasthttp.Response) {
	t.Helper()
	status, body, resp := gatewaytest.Do(t, method, g.URL+path, nil, headers...)
	return status, string(body), string(resp.Header.Peek("X-Cache-Status")), resp
}

// expect checks a request's status, X-Cache-Status and body (body "" is
// not checked).
func expect(t *testing.T, g *gatewaytest.Gateway, path, wantCache string, wantStatus int, wantBody string, headers ...string) *fasthttp.Response {
	t.Helper()
	status, body, cs, resp := get(t, g, "GET", path, headers...)
	if status != wantStatus || cs != wantCache || (wantBody != "" && body != wantBody) {
		t.Fatalf("GET %s: got %d %s %q, want %d %s %q", path, status, cs, short(body), wantStatus, wantCache, short(wantBody))
	}
	return resp
}

// counter is an upstream handler that answers with a body counting its
// calls ("n=1", "n=2"...) and the headers set by hdrs.
func counter(hdrs ...string) (fasthttp.RequestHandler, func() int) {
	var n int64
	var mu = make(chan struct{}, 1)
	h := func(ctx *fasthttp.RequestCtx) {
		mu <- struct{}{}
		n++
		v := n
		<-mu
		for i := 0; i+1 < len(hdrs); i += 2 {
			ctx.Response.Header.Add(hdrs[i], hdrs[i+1])
		}
		ctx.SetContentType("text/plain")
		fmt.Fprintf(ctx, "n=%d", v)
	}
	return h, func() int { mu <- struct{}{}; defer func() { <-mu }(); return int(n) }
}

// waitUntil polls cond every 20ms for at most d.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func httpDate(t time.Time) string { return t.UTC().Format(time.RFC1123[:len(time.RFC1123)-3] + "GMT") }

var _ = strings.Contains

// buildError loads and builds a configuration that must fail, and returns
// the error text.
func buildError(t *testing.T, toml string) string {
	t.Helper()
	file := t.TempDir() + "/moongate.toml"
	if err := os.WriteFile(file, []byte(gatewaytest.WithTestListeners(toml)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := gateway.Load(file, store.New(store.MinSize), gatewaytest.Logger(t))
	if err == nil {
		t.Fatal("the configuration was accepted")
	}
	return err.Error()
}

// short cuts long bodies in failure messages.
func short(s string) string {
	if len(s) > 80 {
		return s[:80] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}
