package lua_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// canaryScript declares the schema of its config: percent is required
// and between 0 and 100, header has a default, mode is one of two names,
// upstreams is a list of names, weights maps names to integers.
const canaryScript = `local M = {}
M.schema = {
  percent = { type = "number", required = true, min = 0, max = 100 },
  header = { type = "string", default = "X-Canary" },
  mode = { type = "string", one_of = { "random", "sticky" }, default = "random" },
  upstreams = { type = "array", items = "string", min_length = 1 },
  weights = { type = "table", values = { type = "integer", min = 1 } },
}
function M.on_request(conf)
  if conf.percent >= 50 then
    gw.request.set_header(conf.header, conf.mode)
  end
end
return M
`

// TestValidateScriptConfigSchema: a step's config is checked against the
// schema its script declares, by ` + "`moongate validate`" + ` (and so by every
// reload), each problem at its file:line and key.
func TestValidateScriptConfigSchema(t *testing.T) {
	dir := writeScripts(t, map[string]string{"canary.lua": canaryScript})
	script := filepath.Join(dir, "canary.lua")
	for _, tc := range []struct {
		name, conf string
		want       []string // "" = valid
	}{
		{"valid", "[routes.plugins.config]\npercent = 10\nupstreams = [\"a\"]\nweights = { a = 2 }\n", nil},
		{"string for a number", "[routes.plugins.config]\npercent = \"ten\"\n",
			[]string{"moongate.toml:9: routes[0].plugins[0].config.percent: must be a number, got a string"}},
		{"out of range", "[routes.plugins.config]\npercent = 150\n",
			[]string{"moongate.toml:9: routes[0].plugins[0].config.percent: must be at most 100, got 150"}},
		{"missing required", "",
			[]string{"moongate.toml:5: routes[0].plugins[0].config.percent: is required by the script's schema"}},
		{"misspelt key", "[routes.plugins.config]\npercent = 5\npecrent = 5\n",
			[]string{`moongate.toml:10: routes[0].plugins[0].config.pecrent: unknown key: the script's schema does not declare it (did you mean "percent"?)`}},
		{"not one of", "[routes.plugins.config]\npercent = 5\nmode = \"always\"\n",
			[]string{`moongate.toml:10: routes[0].plugins[0].config.mode: must be one of "random", "sticky", got another string`}},
		{"nested", "[routes.plugins.config]\npercent = 5\nupstreams = [\"a\", 2]\nweights = { a = 0, b = 1.5 }\n",
			[]string{"moongate.toml:10: routes[0].plugins[0].config.upstreams[1]: must be a string, got an integer (2)",
				"moongate.toml:11: routes[0].plugins[0].config.weights.a: must be at least 1, got 0",
				"moongate.toml:11: routes[0].plugins[0].config.weights.b: must be an integer, got a number (1.5)"}},
		{"empty list", "[routes.plugins.config]\npercent = 5\nupstreams = []\n",
			[]string{"moongate.toml:10: routes[0].plugins[0].config.upstreams: must have at least 1 item, got 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := validate(t, fmt.Sprintf("[admin]\nlisten = \"\"\n[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  script = %q\n  name = \"canary\"\n%s", script, tc.conf))
			if tc.want == nil {
				if code != 0 {
					t.Fatalf("got exit %d: %s, want ok", code, out)
				}
				return
			}
			for _, want := range tc.want {
				if code != 1 || !strings.Contains(out, want) {
					t.Errorf("got exit %d:\n%s\nwant exit 1 and %q", code, out, want)
				}
			}
		})
	}
}

// TestValidateScriptModule: a module whose table has a key moongate
// does not know (a misspelt handler, which would never run) and a schema
// that is itself wrong are reported at the step's script key, with a
// did-you-mean.
func TestValidateScriptModule(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"typo.lua": `return {
  on_request = function() end,
  on_respnse = function() gw.response.set_header("X-Never", "run") end,
}`,
		"helpers.lua": `return { on_request = function() end, _parse = function() end }`,
		"cycle.lua": `local f = { type = "array" }
f.items = f
return { schema = { list = f }, on_request = function() end }`,
		"badschema.lua": `return {
  schema = { percent = { type = "numbr" }, header = { requierd = true }, mode = { type = "string", one_of = { "a" }, default = "b" } },
  on_request = function() end,
}`,
	})
	for _, tc := range []struct{ script, want string }{
		{"typo.lua", `moongate.toml:6: routes[0].plugins[0].script: ` + dir + `/typo.lua: unknown key "on_respnse" in the module's table (did you mean "on_response"?)`},
		{"helpers.lua", ""},
		{"badschema.lua", `schema.percent.type: unknown type "numbr" (did you mean "number"?)`},
		{"badschema.lua", `schema.header: unknown attribute "requierd" (did you mean "required"?)`},
		{"badschema.lua", `schema.mode.default: must be one of "a", got another string`},
		{"cycle.lua", `nested deeper than 32 levels (or a table that contains itself)`},
	} {
		code, out := validate(t, fmt.Sprintf("[admin]\nlisten = \"\"\n[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  script = %q\n", filepath.Join(dir, tc.script)))
		if tc.want == "" {
			if code != 0 {
				t.Errorf("%s: got exit %d: %s, want ok", tc.script, code, out)
			}
			continue
		}
		if code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: got exit %d:\n%s\nwant exit 1 and %q", tc.script, code, out, tc.want)
		}
	}
}

// TestScriptConfigDefaultsAndReload: the schema's defaults reach the
// script's conf; a reload with a config the schema refuses is refused,
// and the running configuration keeps serving.
func TestScriptConfigDefaultsAndReload(t *testing.T) {
	dir := writeScripts(t, map[string]string{"canary.lua": canaryScript})
	up := echoUpstream(t)
	conf := func(percent string) string {
		return fmt.Sprintf(`[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = %q
  [routes.plugins.config]
  percent = %s
`, up.URL, filepath.Join(dir, "canary.lua"), percent)
	}
	g := gatewaytest.Start(t, conf("75"))
	st, _, resp := gatewaytest.Do(t, "GET", g.URL+"/", nil)
	if got := string(resp.Header.Peek("Got-X-Canary")); st != 200 || got != "random" {
		t.Fatalf("got %d, X-Canary %q; want 200 and the defaults' header and mode (random)", st, got)
	}
	g.Rewrite(t, conf(`"ten"`))
	st, body, _ := gatewaytest.Do(t, "POST", g.AdminURL+"/reload", nil)
	if st != 422 || !strings.Contains(string(body), "routes[0].plugins[0].config.percent: must be a number, got a string") {
		t.Fatalf("reload: got %d %s, want 422 naming config.percent", st, body)
	}
	if st, _, resp := gatewaytest.Do(t, "GET", g.URL+"/", nil); st != 200 || string(resp.Header.Peek("Got-X-Canary")) != "random" {
		t.Fatalf("after the refused reload: got %d, X-Canary %q; want 200, random", st, resp.Header.Peek("Got-X-Canary"))
	}
}
