package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/bench/conf"
	"github.com/moongate/moongate/bench/floor"
	"github.com/moongate/moongate/bench/origin"
	"github.com/moongate/moongate/core/redistest"
	"github.com/valyala/fasthttp"
)

// The smoke test runs the harness's pieces on loopback without wrk and
// without the Debian programs: the origin, the floor, moongate built from
// this tree with every moongate configuration of bench/conf, and the
// correctness checks, which must pass on right answers and fail on wrong
// ones.

func serve(t *testing.T, srv *fasthttp.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// smokeEnv builds moongate into a temporary directory and starts an
// origin, in an unpinned layout.
func smokeEnv(t *testing.T) *Env {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "moongate"), "github.com/moongate/moongate/cmd/moongate")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/moongate: %v\n%s", err, out)
	}
	layout, _ := newLayout("shared", 1, 1)
	e := &Env{Opts: Options{Connections: 8}, Layout: layout, Bin: dir, Out: dir, NoFile: 4096,
		LuaModules: luaModules(), Script: filepath.Join(dir, "trivial.lua"), Backend: serve(t, origin.New().Server())}
	lua, _ := conf.FS.ReadFile("trivial.lua")
	if err := os.WriteFile(e.Script, lua, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		e.Redis = redistest.Start(t).Addr
	}
	return e
}

// A feature this build lacks is the only acceptable reason for a moongate
// configuration of the harness not to validate.
var featureGap = regexp.MustCompile(`^(plugin \S+ not registered|Lua script steps not supported|\[\w+\] not supported)$`)

func TestMoongateConfigurations(t *testing.T) {
	e := smokeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ran := map[string]bool{}
	for _, sc := range scenarios {
		for _, c := range sc.Contenders {
			if c.Kind != kindMoongate || ran[c.Template] {
				continue
			}
			ran[c.Template] = true
			t.Run(c.Name, func(t *testing.T) {
				dir := filepath.Join(e.Out, sc.Name+"-"+c.Name)
				why := e.availability(ctx, c, dir)
				if why != "" {
					if c.Template == "moongate-plain.toml" || c.Template == "moongate-go.toml" {
						t.Fatalf("%s needs only what the core has, yet: %s", c.Template, why)
					}
					if needsRedis(c) && e.Redis == "" && strings.Contains(why, "redis-server is not installed") {
						t.Skipf("skipped as the harness would: %s", why)
					}
					gaps, ok := strings.CutPrefix(why, "not available in this build: ")
					if !ok {
						t.Fatalf("unexpected reason: %s", why)
					}
					for _, g := range strings.Split(gaps, "; ") {
						if !featureGap.MatchString(g) {
							t.Errorf("%s fails validation for a reason other than a missing feature: %q", c.Template, g)
						}
					}
					t.Skipf("skipped as the harness would: %s", why)
				}
				r, err := e.start(ctx, c, dir, sc.Paths[0], sc.Headers)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Stop(5 * time.Second)
				if err := check(r.Base, sc.Paths, sc.Headers, c.Expect); err != nil {
					t.Errorf("%s fails its own check: %v", c.Name, err)
				}
				pids := tree(r.PID())
				if rssOf(pids) == 0 {
					t.Errorf("no RSS read for moongate's process %v", pids)
				}
			})
		}
	}
}

func TestChecksTellRightFromWrong(t *testing.T) {
	up := serve(t, origin.New().Server())
	proxy := "http://" + serve(t, floor.New(up).Server())
	paths := []string{origin.SmallPath, origin.LargePath}

	if err := check(proxy, paths, nil, expectPlain); err != nil {
		t.Errorf("the floor is a correct plain proxy, yet: %v", err)
	}
	wrong := []struct {
		name, base string
		headers    []string
		e          Expect
		want       string
	}{
		{"origin without a proxy", "http://" + up, nil, expectPlain, "did not receive X-Forwarded-For"},
		{"no cache", proxy, nil, expectCache, "X-Cache-Status"},
		{"no request id", proxy, nil, expectGo, "no X-Request-Id in the response"},
		{"no key check", proxy, []string{"X-API-Key: " + apiKey}, Expect{KeyHeader: "X-API-Key"}, "want 401"},
		{"wrong path", proxy, nil, Expect{}, "status 404"},
	}
	for _, tc := range wrong {
		t.Run(tc.name, func(t *testing.T) {
			p := paths
			if tc.name == "wrong path" {
				p = []string{"/missing"}
			}
			err := check(tc.base, p, tc.headers, tc.e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestTemplatesRender(t *testing.T) {
	e := &Env{Layout: Layout{ProxyCores: 1}, Backend: "127.0.0.1:8081", NoFile: 20000,
		LuaModules: "load_module /x/ngx_http_lua_module.so;", Script: "/x/trivial.lua", Redis: "127.0.0.1:6390"}
	dir := t.TempDir()
	seen := map[string]bool{}
	for _, sc := range scenarios {
		for _, c := range sc.Contenders {
			if c.Template == "" || seen[c.Template] {
				continue
			}
			seen[c.Template] = true
			file, err := e.render(c, dir, "127.0.0.1:9999")
			if err != nil {
				t.Fatalf("%s: %v", c.Template, err)
			}
			b, _ := os.ReadFile(file)
			s := string(b)
			for _, want := range []string{"127.0.0.1:9999", "8081"} {
				if want == "127.0.0.1:9999" && c.Kind == kindVarnish {
					continue // varnishd gets its address on the command line
				}
				if !strings.Contains(s, want) {
					t.Errorf("%s lacks %q:\n%s", c.Template, want, s)
				}
			}
			if strings.Contains(s, "<no value>") {
				t.Errorf("%s uses a field the harness does not set:\n%s", c.Template, s)
			}
		}
	}
}

// With nginx installed (not needed by make test), its configurations
// must pass nginx -t, haproxy's haproxy -c, varnish's varnishd -C.
func TestOtherConfigurationsIfInstalled(t *testing.T) {
	dir := t.TempDir()
	e := &Env{Layout: Layout{ProxyCores: 1}, Backend: "127.0.0.1:8081", NoFile: 4096, Out: dir,
		LuaModules: luaModules(), Script: filepath.Join(dir, "trivial.lua")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := map[string]bool{}
	for _, sc := range scenarios {
		for _, c := range sc.Contenders {
			if c.Kind == kindMoongate || c.Kind == kindFloor || seen[c.Template] {
				continue
			}
			seen[c.Template] = true
			t.Run(c.Template, func(t *testing.T) {
				why := e.availability(ctx, c, filepath.Join(dir, c.Template))
				if strings.HasPrefix(why, "not available") {
					t.Skip(why)
				}
				if why != "" {
					t.Error(why)
				}
			})
		}
	}
}
