package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, src string) (*Config, Problems) {
	t.Helper()
	cfg, err := Parse("test.toml", []byte(src))
	if err == nil {
		return cfg, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, want Problems: %v", err, err)
	}
	return cfg, ps
}

// wantProblem fails unless ps holds a problem at line with key and a
// reason containing frag.
func wantProblem(t *testing.T, ps Problems, line int, key, frag string) {
	t.Helper()
	for _, p := range ps {
		if p.Line == line && p.Key == key && strings.Contains(p.Reason, frag) {
			return
		}
	}
	t.Errorf("got problems:\n%v\nwant one at line %d, key %s, containing %q", ps, line, key, frag)
}

func TestDefaults(t *testing.T) {
	cfg, ps := parse(t, "")
	if ps != nil {
		t.Fatal(ps)
	}
	if got := []string(cfg.Server.Listen); len(got) != 1 || got[0] != "0.0.0.0:8080" {
		t.Errorf("listen = %v, want [0.0.0.0:8080]", got)
	}
	if cfg.Server.ReadTimeout.Std() != 30*time.Second || cfg.Server.MaxHeaderSize != 8<<10 || cfg.Server.MaxBodySize != 8<<20 {
		t.Errorf("server defaults = %+v", cfg.Server)
	}
	if cfg.Admin.Listen != "127.0.0.1:9080" {
		t.Errorf("admin.listen = %q", cfg.Admin.Listen)
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	src := `[server]
listen = "0.0.0.0:8080"
read_timeout = "5x"
max_body_size = "12 parsecs"

[admin]
listen = "0.0.0.0:9080"

[[plugins]]
name = "request-id"
enabeld = false

[[upstreams]]
name = "users"
targets = [{ url = "http://127.0.0.1:9000", weight = 0 }]

[[routes]]
name = "users"
paths = ["/users/{id}", "api"]
upstream = "userz"

[[routes]]
name = "x"
methods = ["get"]
upstream = 5
`
	_, ps := parse(t, src)
	wantProblem(t, ps, 3, "server.read_timeout", `invalid duration`)
	wantProblem(t, ps, 3, "server.read_timeout", `got "5x"`)
	wantProblem(t, ps, 4, "server.max_body_size", "invalid size")
	wantProblem(t, ps, 7, "admin.listen", "not a loopback address")
	wantProblem(t, ps, 11, "plugins[0].enabeld", `unknown key (did you mean "enabled"?)`)
	wantProblem(t, ps, 15, "upstreams[0].targets[0].weight", "between 1 and 10000, got 0")
	wantProblem(t, ps, 19, "routes[0].paths[1]", `must start with "/"`)
	wantProblem(t, ps, 20, "routes[0].upstream", `unknown upstream "userz"`)
	wantProblem(t, ps, 24, "routes[1].methods[0]", "upper-case")
	wantProblem(t, ps, 25, "routes[1].upstream", "expected a string, got an integer")
	if len(ps) != 9 {
		t.Errorf("got %d problems, want 9:\n%v", len(ps), ps)
	}
	// The printed form is file:line: key: reason.
	if got := ps[0].Error(); !strings.HasPrefix(got, "test.toml:3: server.read_timeout: ") {
		t.Errorf("first problem prints as %q", got)
	}
}

func TestSyntaxErrorHasLineAndColumn(t *testing.T) {
	_, ps := parse(t, "[server]\nlisten = \"x\n")
	if len(ps) != 1 || ps[0].Line != 2 || ps[0].Column == 0 || !strings.Contains(ps[0].Reason, "syntax error") {
		t.Fatalf("got %+v, want one syntax error at line 2 with a column", ps)
	}
	if !strings.Contains(ps[0].Snippet, `listen = "x`) {
		t.Errorf("snippet %q does not show the line", ps[0].Snippet)
	}
}

func TestLinesOfNestedArrayTables(t *testing.T) {
	src := `[[routes]]
name = "a"
  [[routes.plugins]]
  name = "x"
  [[routes.plugins]]
  name = "y"
  on_error = "maybe"
  multi = """
line
"""
[[routes]]
name = "b"
  [[routes.plugins]]
  name = "z"
  [routes.plugins.config]
  k = 1
  [[routes.plugins]]
  nmae = "w"
`
	_, ps := parse(t, src)
	wantProblem(t, ps, 7, "routes[0].plugins[1].on_error", `must be "fail" or "continue"`)
	wantProblem(t, ps, 8, "routes[0].plugins[1].multi", "unknown key")
	wantProblem(t, ps, 18, "routes[1].plugins[1].nmae", "unknown key")
}

func TestEnvironmentSubstitution(t *testing.T) {
	t.Setenv("MG_TEST_TOKEN", "s3cret")
	t.Setenv("MG_TEST_EMPTY", "")
	cfg, ps := parse(t, `[admin]
token = "${MG_TEST_TOKEN}"
listen = "${MG_TEST_UNSET:-127.0.0.1:9999}"
[[routes]]
name = "$${literal}-${MG_TEST_EMPTY}x"
`)
	if ps != nil {
		t.Fatal(ps)
	}
	if cfg.Admin.Token != "s3cret" || cfg.Admin.Listen != "127.0.0.1:9999" {
		t.Errorf("admin = %+v", cfg.Admin)
	}
	if cfg.Routes[0].Name != "${literal}-x" {
		t.Errorf("route name = %q", cfg.Routes[0].Name)
	}

	_, ps = parse(t, "[admin]\ntoken = \"${MG_TEST_MISSING_VAR}\"\n")
	wantProblem(t, ps, 2, "admin.token", "environment variable MG_TEST_MISSING_VAR is not set")
}

func TestValueFromEnvironmentIsNotEchoed(t *testing.T) {
	t.Setenv("MG_TEST_SECRET_DURATION", "hunter2")
	_, ps := parse(t, "[server]\nread_timeout = \"${MG_TEST_SECRET_DURATION}\"\n")
	if len(ps) != 1 || strings.Contains(ps.Error(), "hunter2") {
		t.Fatalf("got %v: the value must not be shown", ps)
	}
}

func TestUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512B", 512, true}, {"8KB", 8 << 10, true}, {"8kb", 8 << 10, true}, {"16MB", 16 << 20, true},
		{"1GB", 1 << 30, true}, {"100", 100, true}, {"2 MB", 2 << 20, true},
		{"-1KB", 0, false}, {"1.5MB", 0, false}, {"MB", 0, false}, {"8XB", 0, false},
	} {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	var d Duration
	if err := d.DecodeConfig("250ms"); err != nil || d.Std() != 250*time.Millisecond {
		t.Errorf("250ms decoded as %v, %v", d, err)
	}
	for _, bad := range []any{"5", "-1s", int64(5), "fast"} {
		if err := d.DecodeConfig(bad); err == nil {
			t.Errorf("duration %v accepted", bad)
		}
	}
}

func TestPluginTableDecode(t *testing.T) {
	cfg, ps := parse(t, `[[plugins]]
name = "rate"
[plugins.config]
burst = 5
window = "1s"
typo = true
`)
	if ps != nil {
		t.Fatal(ps)
	}
	var pc struct {
		Burst  int      `toml:"burst"`
		Window Duration `toml:"window"`
	}
	err := cfg.Plugins[0].Config.Decode(&pc)
	ps = AsProblems(err)
	wantProblem(t, ps, 6, "plugins[0].config.typo", "unknown key")
	if pc.Burst != 5 || pc.Window.Std() != time.Second {
		t.Errorf("decoded %+v", pc)
	}
	p := cfg.Plugins[0].Config.Problem("burst", "must be at least 10, got 5")
	if got := p.Error(); got != "test.toml:4: plugins[0].config.burst: must be at least 10, got 5" {
		t.Errorf("problem prints as %q", got)
	}
}

func TestListenAcceptsStringOrList(t *testing.T) {
	cfg, ps := parse(t, "[server]\nlisten = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n")
	if ps != nil || len(cfg.Server.Listen) != 2 {
		t.Fatalf("listen = %v, %v", cfg.Server.Listen, ps)
	}
	_, ps = parse(t, "[server]\nlisten = 8080\n")
	wantProblem(t, ps, 2, "server.listen", "expected a string or a list of strings")
}

func TestRouteChecks(t *testing.T) {
	_, ps := parse(t, `[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:1/path" }]
[[routes]]
paths = ["/a/{id}/{id}", "/b//c", "/c/{x}y"]
rewrite = "/v2/{missing}"
hosts = ["API.example.com", "*.ok.example.com"]
`)
	wantProblem(t, ps, 3, "upstreams[0].targets[0].url", "must not have a path")
	wantProblem(t, ps, 5, "routes[0].paths[0]", "appears twice")
	wantProblem(t, ps, 5, "routes[0].paths[1]", "normalized")
	wantProblem(t, ps, 5, "routes[0].paths[2]", "whole segment")
	wantProblem(t, ps, 6, "routes[0].rewrite", `parameter "missing" is not in path`)
	wantProblem(t, ps, 7, "routes[0].hosts[0]", "lower-case")
}

func TestScriptTimeoutBound(t *testing.T) {
	_, ps := parse(t, "[[routes]]\n[[routes.plugins]]\nscript = \"x.lua\"\ntimeout = \"31s\"\n")
	wantProblem(t, ps, 4, "routes[0].plugins[0].timeout", "must be at most 30s")
}

func TestMaxHeaderCount(t *testing.T) {
	cfg, ps := parse(t, "")
	if ps != nil || cfg.Server.MaxHeaderCount != 100 {
		t.Fatalf("default max_header_count = %d (%v), want 100", cfg.Server.MaxHeaderCount, ps)
	}
	cfg, ps = parse(t, "[server]\nmax_header_count = 20\n")
	if ps != nil || cfg.Server.MaxHeaderCount != 20 {
		t.Fatalf("max_header_count = %d (%v), want 20", cfg.Server.MaxHeaderCount, ps)
	}
	_, ps = parse(t, "[server]\nmax_header_count = 0\n")
	wantProblem(t, ps, 2, "server.max_header_count", "must be at least 1, got 0")
	_, ps = parse(t, "[server]\nmax_header_count = \"many\"\n")
	wantProblem(t, ps, 2, "server.max_header_count", "")
}

// TestLinesAfterReleaseSource: the line of a problem is found from the
// file's text, at the first problem (a file without problems is never
// indexed); once the source is released, problems name no line, and
// what was decoded stays as it was.
func TestLinesAfterReleaseSource(t *testing.T) {
	cfg, ps := parse(t, `[server]
listen = "127.0.0.1:8080"

[[routes]]
name = "api"
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "hello"
`)
	if ps != nil {
		t.Fatal(ps)
	}
	if p := cfg.Problem("routes[0].name", "x"); p.Line != 5 {
		t.Fatalf("got line %d, want 5", p.Line)
	}
	tbl := cfg.Routes[0].Plugins[0].Config
	if p := tbl.Problem("body", "x").(Problem); p.Line != 9 {
		t.Fatalf("got line %d, want 9", p.Line)
	}
	cfg.ReleaseSource()
	if p := cfg.Problem("routes[0].name", "x"); p.Line != 0 || p.Key != "routes[0].name" || p.File != "test.toml" {
		t.Fatalf("after release: %+v, want no line", p)
	}
	if p := tbl.Problem("body", "x").(Problem); p.Line != 0 {
		t.Fatalf("after release: got line %d, want none", p.Line)
	}
	var v struct {
		Body string `toml:"body"`
	}
	if err := tbl.Decode(&v); err != nil || v.Body != "hello" || cfg.Routes[0].Name != "api" {
		t.Fatalf("after release: %v, %q, %q", err, v.Body, cfg.Routes[0].Name)
	}
}
