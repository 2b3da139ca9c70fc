package ratelimit

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/core/redisconn"
	"github.com/moongate/moongate/core/redistest"
	"github.com/valyala/fasthttp"
)

// redisStep builds a rate-limit step of policy "redis" on a client of
// addr, with the step's config table raw.
func redisStep(t *testing.T, addr string, raw map[string]any, logs *logBuffer) *Plugin {
	t.Helper()
	c, err := redisconn.New(redisconn.Options{Addresses: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	raw["policy"] = "redis"
	raw["key"] = "ip"
	inst, err := New(plugin.Spec{Name: "rate-limit", Path: "routes[0].plugins[0]", Route: "api",
		Config: config.NewTable("routes[0].plugins[0].config", raw), Env: &plugin.Env{Redis: c, Logger: logs.logger()}})
	if err != nil {
		t.Fatal(err)
	}
	p := inst.(*Plugin)
	t.Cleanup(func() { p.Cleanup() })
	return p
}

// decide runs the step's two phases on one request from 192.0.2.1, and
// returns the status (0: passed on) and the response headers.
func decide(t *testing.T, p *Plugin) (int, map[string]string) {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}, nil)
	c := plugintest.NewContext(fc)
	defer plugintest.Release(c)
	if err := p.OnRequest(c); err != nil {
		t.Fatal(err)
	}
	status := 0
	if c.Answered() {
		status = c.Response.StatusCode()
	}
	if err := p.OnResponse(c); err != nil {
		t.Fatal(err)
	}
	h := map[string]string{}
	for k, v := range c.Response.Header.All() {
		h[string(k)] = string(v)
	}
	return status, h
}

// TestRedisPolicyDecidesOnRedis: two steps (two nodes) on one Redis share
// one count.
func TestRedisPolicyDecidesOnRedis(t *testing.T) {
	rd := redistest.Start(t)
	logs := &logBuffer{}
	a := redisStep(t, rd.Addr, map[string]any{"limits": []any{map[string]any{"requests": int64(5), "per": "1h"}}}, logs)
	b := redisStep(t, rd.Addr, map[string]any{"limits": []any{map[string]any{"requests": int64(5), "per": "1h"}}}, logs)
	passed := 0
	for i := 0; i < 12; i++ {
		step := a
		if i%2 == 1 {
			step = b
		}
		if st, h := decide(t, step); st == 0 {
			passed++
		} else if st != 429 || h["Retry-After"] == "" {
			t.Fatalf("request %d: %d %v", i, st, h)
		}
	}
	if passed != 5 {
		t.Errorf("%d of 12 passed on two steps sharing one Redis, want 5", passed)
	}
	if s := a.Stats(); s.Policy != "redis" || s.Redis.Calls != 6 || s.Redis.Down {
		t.Errorf("stats: %+v %+v", s, s.Redis)
	}
}

// TestRedisOnErrorAllowAndDeny: with Redis unreachable, "allow" passes
// every request without header fields, "deny" refuses with Retry-After;
// the failure is logged once, with the step and the mode.
func TestRedisOnErrorAllowAndDeny(t *testing.T) {
	dead := "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	for _, mode := range []string{"allow", "deny"} {
		t.Run(mode, func(t *testing.T) {
			logs := &logBuffer{}
			p := redisStep(t, dead, map[string]any{"limits": []any{map[string]any{"requests": int64(1), "per": "1h"}},
				"on_redis_error": mode}, logs)
			for i := 0; i < 3; i++ {
				st, h := decide(t, p)
				switch {
				case mode == "allow" && (st != 0 || h["Ratelimit"] != ""):
					t.Fatalf("allow, request %d: %d %v", i, st, h)
				case mode == "deny" && (st != 429 || h["Retry-After"] != "1" || h["Ratelimit"] != ""):
					t.Fatalf("deny, request %d: %d %v", i, st, h)
				}
			}
			log := logs.String()
			if strings.Count(log, "rate-limit: redis failed") != 1 || !strings.Contains(log, "on_redis_error="+mode) ||
				!strings.Contains(log, "step=routes[0].plugins[0]") {
				t.Errorf("log:\n%s", log)
			}
			if s := p.Stats(); !s.Redis.Down || s.Redis.Fallbacks != 3 {
				t.Errorf("stats: %+v", s.Redis)
			}
		})
	}
}
