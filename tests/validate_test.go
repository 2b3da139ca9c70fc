package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("test-maybe", func(plugin.Spec) (any, error) { return maybe{}, nil }) }

// maybe is a step that says it may answer requests (as a script does) and
// never does.
type maybe struct{}

func (maybe) OnRequest(*plugin.Context) error { return nil }
func (maybe) Answers() plugin.Answer          { return plugin.AnswerMaybe }

// validateLines runs "moongate validate" on config and returns its exit
// code, its stdout and its stderr's lines.
func validateLines(t *testing.T, config string) (int, string, []string) {
	t.Helper()
	file := writeFile(t, "moongate.toml", config)
	out, errOut, code := runBin(t, "validate", "-c", file)
	errOut = strings.ReplaceAll(errOut, file, "moongate.toml")
	var lines []string
	if s := strings.TrimSpace(errOut); s != "" {
		lines = strings.Split(s, "\n")
	}
	return code, out, lines
}

func wantLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d lines:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

const echoUpstream = `[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:1" }]
`

func TestValidateSuggestsPluginNames(t *testing.T) {
	code, _, lines := validateLines(t, `[[plugins]]
name = "header"

[[routes]]
paths = ["/"]
upstream = "u"
  [[routes.plugins]]
  name = "reqest-id"
`+echoUpstream)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, lines, []string{
		`moongate.toml:2: plugins[0].name: unknown plugin "header" (did you mean "headers"?)`,
		`moongate.toml:8: routes[0].plugins[0].name: unknown plugin "reqest-id" (did you mean "request-id"?)`,
	})
}

func TestValidateRouteThatCannotAnswer(t *testing.T) {
	t.Run("no upstream and no step that answers is an error", func(t *testing.T) {
		code, _, lines := validateLines(t, echoUpstream+`
[[plugins]]
name = "request-id"

[[routes]]
name = "cached"
paths = ["/cached/"]
  [[routes.plugins]]
  name = "cache"

[[routes]]
name = "retired"
paths = ["/retired/"]
  [[routes.plugins]]
  name = "mock"
  enabled = false

[[routes]]
name = "mocked"
paths = ["/mocked/"]
  [[routes.plugins]]
  name = "mock"

[[routes]]
name = "closed"
paths = ["/closed/"]
  [[routes.plugins]]
  name = "request-termination"

[[routes]]
name = "proxied"
paths = ["/"]
upstream = "u"
`)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		reason := ` has no upstream and no step that answers by itself (such as mock or request-termination): every request would get 502 "route has no upstream"; set upstream or add such a step`
		wantLines(t, lines, []string{
			`moongate.toml:8: routes[0]: route "cached"` + reason,
			`moongate.toml:14: routes[1]: route "retired"` + reason,
		})
	})
	t.Run("a script that may answer is a warning", func(t *testing.T) {
		// The script's path is relative to the configuration's folder.
		tree := tourTree(t)
		file := filepath.Join(tree, "moongate.toml")
		os.WriteFile(file, []byte(`[[routes]]
name = "hello"
paths = ["/hello/"]
  [[routes.plugins]]
  script = "scripts/hello.lua"
  [routes.plugins.config]
  greeting = "hi"
`), 0o600)
		out, errOut, code := runBin(t, "validate", "-c", file)
		lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(errOut, tree+"/", "")), "\n")
		if code != 0 || strings.TrimSpace(out) != "ok" {
			t.Errorf("exit %d, stdout %q; want 0 and ok", code, out)
		}
		wantLines(t, lines, []string{
			`moongate.toml:1: routes[0]: warning: route "hello" has no upstream: only scripts/hello.lua may answer its requests (or pick an upstream for them); the others get 502 "route has no upstream"`,
		})
	})
}

// TestReloadRouteThatCannotAnswer: reload refuses a route that can never
// answer (the old configuration keeps serving) and reports a route that
// only a script may answer as a warning.
func TestReloadRouteThatCannotAnswer(t *testing.T) {
	g := gt.Start(t, `[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "v1"
`)
	g.Rewrite(t, `[[routes]]
name = "empty"
paths = ["/"]
  [[routes.plugins]]
  name = "request-id"
`)
	res := g.Reload()
	if res.OK || len(res.Messages) != 1 || !strings.Contains(res.Messages[0], `routes[0]: route "empty" has no upstream and no step that answers by itself`) {
		t.Errorf("reload: %+v, want it refused for route \"empty\"", res)
	}
	if st, body, _ := gt.Do(t, "GET", g.URL+"/", nil); st != 200 || string(body) != "v1" {
		t.Errorf("after the refused reload: %d %q, want the old configuration's 200 v1", st, body)
	}
	g.Rewrite(t, `[[routes]]
name = "maybe"
paths = ["/"]
  [[routes.plugins]]
  name = "test-maybe"
`)
	res = g.Reload()
	if !res.OK || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `routes[0]: warning: route "maybe" has no upstream: only test-maybe may answer`) {
		t.Errorf("reload: %+v, want it done with one warning", res)
	}
}

func TestValidateDuplicateRoutes(t *testing.T) {
	code, _, lines := validateLines(t, echoUpstream+`
[[routes]]
name = "users"
hosts = ["api.example.com"]
methods = ["GET", "POST"]
paths = ["/users/{id}", "/teams/"]
upstream = "u"

[[routes]]
name = "users-v2"
hosts = ["api.example.com"]
methods = ["POST", "GET"]
paths = ["/users/{uid}"]
upstream = "u"

[[routes]]
name = "teams-get"
hosts = ["api.example.com"]
methods = ["GET"]
paths = ["/teams/"]
upstream = "u"

# Not shadowed: another host, another method set, a route naming a host
# (tried before routes without hosts), another path.
[[routes]]
name = "other-host"
hosts = ["www.example.com"]
paths = ["/users/{id}"]
upstream = "u"

[[routes]]
name = "any-method"
hosts = ["api.example.com"]
paths = ["/users/{id}"]
upstream = "u"

[[routes]]
name = "any-host"
methods = ["GET"]
paths = ["/teams/"]
upstream = "u"

[[routes]]
name = "exact"
hosts = ["api.example.com"]
paths = ["/teams"]
upstream = "u"
`)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, lines, []string{
		`moongate.toml:16: routes[1].paths[0]: route "users-v2" can never be selected for "/users/{uid}": route "users" at moongate.toml:9 has the same path and matches all its hosts and methods first`,
		`moongate.toml:23: routes[2].paths[0]: route "teams-get" can never be selected for "/teams/": route "users" at moongate.toml:9 has the same path and matches all its hosts and methods first`,
	})
}

func TestValidateReportsEachProblemOnce(t *testing.T) {
	code, _, lines := validateLines(t, `[server]
listen = 8080

[[routes]]
paths = ["api"]
upstream = "u"
`+echoUpstream)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, lines, []string{
		`moongate.toml:2: server.listen: expected a string or a list of strings, got an integer (8080)`,
		`moongate.toml:5: routes[0].paths[0]: must start with "/", got "api"`,
	})
}
