package acl_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/acl"
	_ "github.com/moongate/moongate/plugins/keyauth"
	_ "github.com/moongate/moongate/plugins/lua"
	"github.com/valyala/fasthttp"
)

// TestCtxGroupsEndToEnd: a script that identifies clients its own way
// gives their groups to acl through gw.ctx; a client without them is
// refused; a consumer's groups header is not sent upstream when hidden.
func TestCtxGroupsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "groups.lua")
	if err := os.WriteFile(script, []byte(`
return {
  on_request = function(conf)
    if gw.request.get_header("X-Badge") == "blue" then
      gw.ctx.set("groups", {"staff"})
    end
  end,
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var groupsSeen string
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		groupsSeen = string(ctx.Request.Header.Peek("X-Consumer-Groups"))
		ctx.SetBodyString("ok")
	})
	g := gatewaytest.Start(t, `
[[consumers]]
name = "alice"
groups = ["staff"]
keys = ["alice-key"]
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/badge/"]
upstream = "app"
  [[routes.plugins]]
  script = "`+filepath.ToSlash(script)+`"
  [[routes.plugins]]
  name = "acl"
  [routes.plugins.config]
  allow = ["staff"]
  ctx_groups = "groups"
[[routes]]
paths = ["/keys/"]
upstream = "app"
  [[routes.plugins]]
  name = "key-auth"
  [[routes.plugins]]
  name = "acl"
  [routes.plugins.config]
  allow = ["staff"]
  hide_groups_header = true
`)
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/badge/x", nil, "X-Badge", "blue"); status != 200 {
		t.Fatalf("with the script's groups: %d %s", status, body)
	}
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/badge/x", nil, "X-Badge", "red"); status != 401 {
		t.Fatalf("without groups: %d", status)
	}
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/keys/x", nil, "X-API-Key", "alice-key"); status != 200 || groupsSeen != "" {
		t.Fatalf("key-auth: %d %s, upstream saw X-Consumer-Groups %q", status, body, groupsSeen)
	}
	if u.Hits() != 2 {
		t.Fatalf("upstream hits %d", u.Hits())
	}
}
