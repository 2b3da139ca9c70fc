package lua_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/lua"
	_ "github.com/moongate/moongate/plugins/requestid"
	"github.com/valyala/fasthttp"
)

// writeScripts writes name → source files into a new folder and returns it.
func writeScripts(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// echoUpstream answers with the request's path and X-* headers it got.
func echoUpstream(t testing.TB) *gatewaytest.Upstream {
	return gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("X-Upstream-Path", string(ctx.Path()))
		for k, v := range ctx.Request.Header.All() {
			if strings.HasPrefix(string(k), "X-") {
				ctx.Response.Header.Set("Got-"+string(k), string(v))
			}
		}
		ctx.SetBodyString(`{"user":"bob","password":"hunter2","card":{"number":"4111"}}`)
		ctx.Response.Header.SetContentType("application/json")
	})
}
