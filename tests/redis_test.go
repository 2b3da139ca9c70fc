package tests

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/redistest"
	_ "github.com/moongate/moongate/plugins/ratelimit"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

// test-redis records the Redis client each instance was built with, and
// answers every request with PING's reply through it.
var (
	redisMu      sync.Mutex
	redisClients = map[string]redis.UniversalClient{} // by label
)

func init() { plugin.Register("test-redis", newRedisProbe) }

type redisProbe struct{ c redis.UniversalClient }

func newRedisProbe(spec plugin.Spec) (any, error) {
	var cfg struct {
		Label string `toml:"label"`
	}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	redisMu.Lock()
	redisClients[cfg.Label] = spec.Redis()
	redisMu.Unlock()
	return &redisProbe{c: spec.Redis()}, nil
}

func (p *redisProbe) OnRequest(c *plugin.Context) error {
	if p.c == nil {
		c.Respond(200, "text/plain", []byte("no redis"))
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := p.c.Ping(ctx).Result()
	if err != nil {
		res = "error: " + err.Error()
	}
	c.Respond(200, "text/plain", []byte(res))
	return nil
}

func (*redisProbe) Answers() plugin.Answer { return plugin.AnswerAlways }

func clientOf(label string) redis.UniversalClient {
	redisMu.Lock()
	defer redisMu.Unlock()
	return redisClients[label]
}

func redisRoutes(labelA, labelB string) string {
	return `
[[routes]]
name = "a"
paths = ["/a"]
  [[routes.plugins]]
  name = "test-redis"
  [routes.plugins.config]
  label = "` + labelA + `"

[[routes]]
name = "b"
paths = ["/b"]
  [[routes.plugins]]
  name = "test-redis"
  [routes.plugins.config]
  label = "` + labelB + `"
`
}

// TestRedisOneSharedClient: the gateway builds one Redis client from
// [redis] and hands it to every step; a reload keeps it (a changed
// [redis] is a warning: it needs a restart); shutdown closes it. Without
// [redis], steps get none.
func TestRedisOneSharedClient(t *testing.T) {
	rd := redistest.Start(t, "--requirepass", "pw-Kq2")
	g := gt.Start(t, `
[redis]
addresses = ["`+rd.Addr+`"]
password = "pw-Kq2"
`+redisRoutes("start-a", "start-b"))
	for _, path := range []string{"/a", "/b"} {
		if st, body, _ := gt.Do(t, "GET", g.URL+path, nil); st != 200 || string(body) != "PONG" {
			t.Fatalf("%s: %d %s", path, st, body)
		}
	}
	first := clientOf("start-a")
	if first == nil || clientOf("start-b") != first {
		t.Fatalf("steps got clients %p and %p, want one shared client", first, clientOf("start-b"))
	}

	// A reload with another [redis]: the same client serves on, and the
	// reload says the change waits for a restart.
	g.Rewrite(t, `
[redis]
addresses = ["`+rd.Addr+`"]
password = "pw-Kq2"
pool_size = 3
`+redisRoutes("reload-a", "reload-b"))
	res := g.Reload()
	if !res.OK || clientOf("reload-a") != first || !strings.Contains(strings.Join(res.Warnings, "\n"), "[redis] changed: it takes effect after a restart") {
		t.Fatalf("reload: %+v; client %p, want %p", res, clientOf("reload-a"), first)
	}
	if st, body, _ := gt.Do(t, "GET", g.URL+"/b", nil); st != 200 || string(body) != "PONG" {
		t.Fatalf("after the reload: %d %s", st, body)
	}

	// Without [redis], no client; the process's client stays open for
	// a configuration that brings [redis] back.
	g.Rewrite(t, redisRoutes("none-a", "none-b"))
	if res := g.Reload(); !res.OK || clientOf("none-a") != nil {
		t.Fatalf("reload without [redis]: %+v, client %v", res, clientOf("none-a"))
	}
	if st, body, _ := gt.Do(t, "GET", g.URL+"/a", nil); st != 200 || string(body) != "no redis" {
		t.Fatalf("without [redis]: %d %s", st, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Ping(context.Background()).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Errorf("after shutdown, PING on the shared client: %v, want %v", err, redis.ErrClosed)
	}
}

// TestRedisAddedByReload: a gateway started without [redis] builds the
// client at the first reload that has one.
func TestRedisAddedByReload(t *testing.T) {
	rd := redistest.Start(t)
	g := gt.Start(t, redisRoutes("late-a", "late-b"))
	if st, body, _ := gt.Do(t, "GET", g.URL+"/a", nil); st != 200 || string(body) != "no redis" {
		t.Fatalf("%d %s", st, body)
	}
	g.Rewrite(t, "[redis]\naddresses = [\""+rd.Addr+"\"]\n"+redisRoutes("late2-a", "late2-b"))
	if res := g.Reload(); !res.OK || len(res.Warnings) != 0 {
		t.Fatalf("reload: %+v", res)
	}
	if st, body, _ := gt.Do(t, "GET", g.URL+"/a", nil); st != 200 || string(body) != "PONG" {
		t.Fatalf("after the reload: %d %s", st, body)
	}
}

// TestRedisConfigProblems: a rate limit on Redis without [redis], and a
// [redis] the client refuses (a CA file without a certificate), are
// refused at their file and line; the password never shows.
func TestRedisConfigProblems(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, toml, want string }{
		{"policy redis without [redis]", `
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 1, per = "1s" }]
  policy = "redis"
  [[routes.plugins]]
  name = "mock"
`, `:8: routes[0].plugins[0].config.policy: "redis" needs a [redis] section`},
		{"CA without a certificate", `
[redis]
addresses = ["127.0.0.1:6379"]
password = "pw-Zz81-secret"
  [redis.tls]
  enabled = true
  ca_file = "` + notPEM + `"
`, `:7: redis.tls.ca_file: no PEM certificate in`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "moongate.toml")
			if err := os.WriteFile(file, []byte(tc.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = gateway.New(cfg, gt.Logger(t))
			if err == nil || !strings.Contains(err.Error(), file+tc.want) || strings.Contains(err.Error(), "pw-Zz81") {
				t.Errorf("gateway.New: %v\nwant %s%s", err, file, tc.want)
			}
			// moongate validate reports the same.
			if _, err := gateway.Load(file, nil, gt.Logger(t)); err == nil || !strings.Contains(err.Error(), file+tc.want) {
				t.Errorf("Load: %v", err)
			}
		})
	}
}

// TestRedisWrongPasswordNeverLogged: with a wrong password, the rate
// limit falls back and logs why (the server's refusal), never the
// password.
func TestRedisWrongPasswordNeverLogged(t *testing.T) {
	rd := redistest.Start(t, "--requirepass", "right-pw")
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {})
	var logs bytes.Buffer
	var mu sync.Mutex
	file := filepath.Join(t.TempDir(), "moongate.toml")
	t.Setenv("MOONGATE_TEST_REDIS_PW", "wrong-pw-Hh7")
	src := gt.WithTestListeners(`
[redis]
addresses = ["` + rd.Addr + `"]
password = "${MOONGATE_TEST_REDIS_PW}"

[[upstreams]]
name = "u"
targets = [{ url = "` + up.URL + `" }]

[[routes]]
paths = ["/"]
upstream = "u"
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 5, per = "1m" }]
  key = "ip"
  policy = "redis"
`)
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown(context.Background())
	if st, _, _ := gt.Do(t, "GET", "http://"+g.Addrs()[0]+"/", nil); st != 200 {
		t.Errorf("status %d, want 200 (the local fallback decides)", st)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "rate-limit: redis failed") || !strings.Contains(out, "WRONGPASS") || strings.Contains(out, "wrong-pw-Hh7") {
		t.Errorf("log:\n%s", out)
	}
}
