package aitest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/redistest"
	"github.com/moongate/moongate/plugins/aiproxy/providertest"
	"github.com/redis/go-redis/v9"
)

// redisBudgetConfig is a node's configuration: the [redis] at addr, and
// the ai route with a budget of 20 tokens per minute per consumer on it.
// extra lines go into the limits table.
func redisBudgetConfig(addr, extra string) func(oa, an *providertest.Server) string {
	return func(oa, an *providertest.Server) string {
		return `
[redis]
addresses = ["` + addr + `"]
` + authTOML + routeTOML + providersTOML(oa, an, []string{providerKeyA}, []string{providerKeyA}) + defaultModels + `
    [routes.plugins.config.limits]
    tokens_per_minute = 20
    policy = "redis"
` + extra
	}
}

// Two gateway nodes on one Redis share a consumer's token budget: what
// alice spends on node A (17 tokens per answer of the mocks; the second
// request passes the check at 18 and fills the budget) is seen by node B,
// which answers her 429 in the client API's error shape without calling a
// provider, while bob, whose budget is untouched, still passes on B. The
// budget lives under the route's own Redis prefix.
func TestTokenLimitsRedisSharedAcrossNodes(t *testing.T) {
	rd := redistest.Start(t)
	// A generous timeout: this test is about sharing, and a call that
	// timed out on a busy machine would be decided by the fallback.
	cfg := redisBudgetConfig(rd.Addr, `    redis_timeout = "2s"
`)
	a, _ := startLogged(t, cfg)
	b, logsB := startLogged(t, cfg)

	for i := 0; i < 2; i++ {
		if r := a.chat(t, body(chatBody, "gpt-4o")); r.status != 200 {
			t.Fatalf("node A, request %d: status %d: %s", i, r.status, r.body)
		}
	}
	r := b.chat(t, body(chatBody, "gpt-4o"))
	if r.status != 429 || field(t, r.json(t), "error", "code") != "rate_limit_exceeded" {
		t.Fatalf("node B after alice spent her budget on A: status %d: %s\nlog of B:\n%s", r.status, r.body, logsB)
	}
	if r.header.Get("Retry-After") == "" {
		t.Error("node B's 429 has no Retry-After")
	}
	r = b.messages(t, body(messagesBody, "claude-sonnet"))
	if r.status != 429 || field(t, r.json(t), "error", "type") != "rate_limit_error" {
		t.Fatalf("node B, Anthropic client: status %d: %s", r.status, r.body)
	}
	if n := len(b.oa.Requests()) + len(b.an.Requests()); n != 0 {
		t.Fatalf("node B sent %d requests over budget to a provider", n)
	}
	if r := b.do(t, "POST", "/v1/chat/completions", openaiHeaders("client-key-bob-0123456789"), body(chatBody, "gpt-4o")); r.status != 200 {
		t.Fatalf("bob on node B: status %d: %s", r.status, r.body)
	}
	if r := a.chat(t, body(chatBody, "gpt-4o")); r.status != 429 {
		t.Fatalf("node A over budget: status %d: %s", r.status, r.body)
	}

	rc := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("Redis keys %q: want one per consumer (alice, bob)", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "moongate:ai-budget:ai:") {
			t.Errorf("Redis key %q is not under the route's prefix moongate:ai-budget:ai:", k)
		}
	}
}

// When Redis fails, the budgets are decided by the default on_redis_error
// = "local": each node counts alone with the budget divided by nodes (20 /
// 2 = 10 tokens here). Requests are answered, never 500, never unlimited:
// the first fits, the second is refused 429 in the client's shape. The
// node says so in its log. Redis is stopped (connections refused) or hung
// (SIGSTOP: connections open, no answer, so the per-call redis_timeout is
// what ends the wait).
func TestTokenLimitsRedisDownFallsBack(t *testing.T) {
	for _, how := range []string{"stopped", "hung"} {
		t.Run(how, func(t *testing.T) {
			rd := redistest.Start(t)
			e, logs := startLogged(t, redisBudgetConfig(rd.Addr, `    nodes = 2
    redis_timeout = "200ms"
    redis_retry_interval = "1h"
`))
			if how == "stopped" {
				rd.Stop()
			} else {
				rd.Pause()
				t.Cleanup(rd.Resume)
			}
			if r := e.chat(t, body(chatBody, "gpt-4o")); r.status != 200 {
				t.Fatalf("Redis %s, first request: status %d: %s\nlog:\n%s", how, r.status, r.body, logs)
			}
			for i := 0; i < 3; i++ {
				r := e.chat(t, body(chatBody, "gpt-4o"))
				if r.status != 429 || field(t, r.json(t), "error", "code") != "rate_limit_exceeded" {
					t.Fatalf("Redis %s, request %d over the node's share: status %d: %s\nlog:\n%s", how, i, r.status, r.body, logs)
				}
			}
			if n := len(e.oa.Requests()); n != 1 {
				t.Fatalf("provider called %d times, want 1", n)
			}
			log := logs.String()
			if !strings.Contains(log, "token budgets: redis failed, deciding without it") || !strings.Contains(log, "on_redis_error=local") {
				t.Fatalf("no log line of the fallback:\n%s", log)
			}
			if strings.Count(log, "token budgets: redis failed") != 1 {
				t.Errorf("the failure was logged more than once:\n%s", log)
			}
		})
	}
}
