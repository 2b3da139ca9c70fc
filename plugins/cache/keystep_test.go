package cache_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	_ "github.com/moongate/moongate/plugins/lua"
	"github.com/valyala/fasthttp"
)

// The cache key follows what the steps before the cache step decided
// (issue 11 §1): a script that sends some requests to a canary, or
// changes them otherwise, never lets a stable request get the canary's
// cached answer.

// "test-keypart" adds the X-Variant header's value to the cache key, as a
// Go step would with Context.AddCacheKey.
func init() {
	plugin.Register("test-keypart", func(plugin.Spec) (any, error) { return keypartStep{}, nil })
}

type keypartStep struct{}

func (keypartStep) OnRequest(c *plugin.Context) error {
	if v := c.Request.Header.Peek("X-Variant"); len(v) > 0 {
		c.AddCacheKey(v)
	}
	return nil
}

// release answers with its name, numbered, and what it was told, cached
// for a minute.
func release(t *testing.T, name string) *gatewaytest.Upstream {
	var n atomic.Int64
	return gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		fmt.Fprintf(ctx, "%s n=%d flag=%s", name, n.Add(1), ctx.Request.Header.Peek("X-Flag"))
	})
}

func canaryConfig(stable, canary, steps string) string {
	return fmt.Sprintf(`
[[upstreams]]
name = "api"
targets = [{ url = %q }]
[[upstreams]]
name = "api-canary"
targets = [{ url = %q }]
[[routes]]
name = "api"
paths = ["/"]
upstream = "api"
%s`, stable, canary, steps)
}

func scriptFile(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.lua")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCacheKeyFollowsScripts(t *testing.T) {
	shipped, _ := filepath.Abs(filepath.Join("..", "..", "scripts", "canary.lua"))
	t.Run("scripts/canary.lua", func(t *testing.T) {
		stable, canary := release(t, "stable"), release(t, "canary")
		g := gatewaytest.Start(t, canaryConfig(stable.URL, canary.URL, fmt.Sprintf(`
  [[routes.plugins]]
  script = %q
  [routes.plugins.config]
  upstream = "api-canary"
  [[routes.plugins]]
  name = "cache"
`, shipped)))
		mustGet(t, g, "/items", "MISS", "canary n=1", "X-Canary", "1")
		mustGet(t, g, "/items", "MISS", "stable n=1")
		mustGet(t, g, "/items", "HIT", "canary n=1", "X-Canary", "1")
		mustGet(t, g, "/items", "HIT", "stable n=1")
		if stable.Hits() != 1 || canary.Hits() != 1 {
			t.Fatalf("upstream hits: stable %d, canary %d; want 1 each", stable.Hits(), canary.Hits())
		}
	})

	// The field report: a script that only picks the upstream. The
	// upstream a step chose is part of the key.
	t.Run("a script that only picks the upstream", func(t *testing.T) {
		stable, canary := release(t, "stable"), release(t, "canary")
		script := scriptFile(t, `
return { on_request = function()
  if gw.request.get_header("X-Canary") == "1" then gw.upstream.set_upstream("api-canary") end
end }`)
		g := gatewaytest.Start(t, canaryConfig(stable.URL, canary.URL, fmt.Sprintf(`
  [[routes.plugins]]
  script = %q
  [[routes.plugins]]
  name = "cache"
`, script)))
		mustGet(t, g, "/items", "MISS", "canary n=1", "X-Canary", "1")
		mustGet(t, g, "/items", "MISS", "stable n=1")
		mustGet(t, g, "/items", "HIT", "stable n=1")
		mustGet(t, g, "/items", "HIT", "canary n=1", "X-Canary", "1")
	})

	// A script that changes the request on the same upstream (a feature
	// flag in a header): only the key parts it adds keep the answers apart.
	for _, tc := range []struct{ name, script, conf string }{
		{"gw.cache_key.add", `
return { on_request = function()
  if gw.request.get_header("X-Beta") then
    gw.request.set_header("X-Flag", "beta")
    gw.cache_key.add("beta")
  end
end }`, ""},
		{"key_ctx", `
return { on_request = function()
  if gw.request.get_header("X-Beta") then
    gw.request.set_header("X-Flag", "beta")
    gw.ctx.set("flag", "beta")
  end
end }`, `  [routes.plugins.config]
  key_ctx = ["flag"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stable := release(t, "stable")
			g := gatewaytest.Start(t, canaryConfig(stable.URL, stable.URL, fmt.Sprintf(`
  [[routes.plugins]]
  script = %q
  [[routes.plugins]]
  name = "cache"
%s
`, scriptFile(t, tc.script), tc.conf)))
			mustGet(t, g, "/items", "MISS", "flag=beta", "X-Beta", "1")
			mustGet(t, g, "/items", "MISS", "n=2 flag=")
			mustGet(t, g, "/items", "HIT", "n=1 flag=beta", "X-Beta", "1")
			mustGet(t, g, "/items", "HIT", "n=2 flag=")
		})
	}

	t.Run("a Go step's key part", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		up := gatewaytest.StartUpstream(t, h)
		g := gatewaytest.Start(t, canaryConfig(up.URL, up.URL, `
  [[routes.plugins]]
  name = "test-keypart"
  [[routes.plugins]]
  name = "cache"
`))
		mustGet(t, g, "/k", "MISS", "n=1", "X-Variant", "a")
		mustGet(t, g, "/k", "MISS", "n=2", "X-Variant", "b")
		mustGet(t, g, "/k", "MISS", "n=3")
		mustGet(t, g, "/k", "HIT", "n=1", "X-Variant", "a")
		mustGet(t, g, "/k", "HIT", "n=3")
	})

	// Past the cache step, the lookup is done: a step that changes the
	// upstream or the key there makes the response unstorable, rather
	// than stored under a key that does not say what it is.
	t.Run("steps after the cache step", func(t *testing.T) {
		stable, canary := release(t, "stable"), release(t, "canary")
		script := scriptFile(t, `
return { on_request = function()
  if gw.request.get_header("X-Canary") == "1" then gw.upstream.set_upstream("api-canary") end
  if gw.request.get_header("X-Beta") then gw.cache_key.add("beta") end
end }`)
		g := gatewaytest.Start(t, canaryConfig(stable.URL, canary.URL, fmt.Sprintf(`
  [[routes.plugins]]
  name = "cache"
  [[routes.plugins]]
  script = %q
`, script)))
		mustGet(t, g, "/items", "MISS", "canary n=1", "X-Canary", "1")
		mustGet(t, g, "/items", "MISS", "stable n=1", "X-Beta", "1")
		mustGet(t, g, "/items", "MISS", "stable n=2")
		mustGet(t, g, "/items", "HIT", "stable n=2")
		mustGet(t, g, "/items", "HIT", "stable n=2", "X-Canary", "1") // answered before the script runs
	})
}
