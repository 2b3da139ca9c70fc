package ratelimit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/redistest"
)

// clusterConfig is the configuration every node of a test cluster runs:
// key-auth, then a rate limit per consumer on the Redis at addr. extra
// lines go into the step's config.
func clusterConfig(upstream, addr, extra string) string {
	return consumers + `
[redis]
addresses = ["` + addr + `"]

[[upstreams]]
name = "up"
targets = [{ url = "` + upstream + `" }]

[[routes]]
name = "api"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  name = "key-auth"
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  key = "consumer"
  policy = "redis"
` + extra
}

// rateLimits reads GET /rate-limits of n: its one step.
func rateLimits(t *testing.T, n *node) Step {
	t.Helper()
	st, body, _ := gt.Do(t, "GET", n.admin+"/rate-limits", nil)
	var steps []Step
	if err := json.Unmarshal(body, &steps); err != nil || st != 200 || len(steps) != 1 || steps[0].Redis == nil {
		t.Fatalf("GET /rate-limits: %d %s (%v)", st, body, err)
	}
	return steps[0]
}

// TestClusterThreeNodesOneRedis is issue 14's "done when": three gateway
// nodes sharing one redis-server, a limit of 100 requests per minute per
// consumer, concurrent load spread over the three: 100 pass (the issue
// allows 100 ± 1; the Redis script is atomic, so it is exactly 100).
func TestClusterThreeNodesOneRedis(t *testing.T) {
	rd := redistest.Start(t)
	up := upstreamOK(t)
	// A generous Redis timeout: this test is about exactness, and a call
	// that timed out on a busy machine would be decided by the fallback.
	cfg := clusterConfig(up.URL, rd.Addr, `  limits = [{ requests = 100, per = "1m" }]
  redis_timeout = "2s"
`)
	nodes := []*node{startNode(t, cfg), startNode(t, cfg), startNode(t, cfg)}

	rs, took := concurrently(330, func(i int) result {
		key := "alice-key"
		if i%11 == 10 {
			key = "bob-key" // 30 requests of bob, on every node
		}
		return do(t, nodes[i%3].url+"/orders", "X-API-Key", key)
	})
	noServerErrors(t, "load", rs)
	var alice, bob []result
	for i, r := range rs {
		if i%11 == 10 {
			bob = append(bob, r)
		} else {
			alice = append(alice, r)
		}
	}
	if got := count(alice, 200); got < 99 || got > 101 {
		t.Errorf("alice: %d of %d passed across 3 nodes in %v, want 100 ± 1", got, len(alice), took)
	} else if got != 100 {
		t.Logf("alice: %d passed (the issue allows 100 ± 1)", got)
	}
	if got := count(bob, 200); got != len(bob) {
		t.Errorf("bob: %d of %d passed, want all: consumers share nothing", got, len(bob))
	}
	// Which node let alice's 100 through depends on scheduling (one node
	// may see all its requests after the budget is spent): only the
	// total says the nodes share one count (alone, each would let 100
	// through). Every node called Redis for each of its requests.
	var calls, errs uint64
	perNode := [3]int{}
	for i, r := range rs {
		if r.status == 200 && i%11 != 10 {
			perNode[i%3]++
		}
	}
	for _, n := range nodes {
		st := rateLimits(t, n)
		calls += st.Redis.Calls
		errs += st.Redis.Errors + st.Redis.Fallbacks
	}
	if calls != uint64(len(rs)) || errs != 0 {
		t.Errorf("redis calls %d (want %d), errors and fallbacks %d (want 0)", calls, len(rs), errs)
	}
	t.Logf("passed per node: %v, in %v", perNode, took)
}

// TestClusterRedisKilledFallsBackAndRecovers: Redis dies under load. With
// on_redis_error = "local" each node decides alone with the limit divided
// by nodes (30 per hour / 3 = 10 per node), says so in its log and in
// GET /rate-limits, and never answers 500; when Redis is back, the nodes
// decide on it again by themselves.
func TestClusterRedisKilledFallsBackAndRecovers(t *testing.T) {
	rd := redistest.Start(t)
	up := upstreamOK(t)
	cfg := clusterConfig(up.URL, rd.Addr, `  limits = [{ requests = 30, per = "1h" }]
  on_redis_error = "local"
  nodes = 3
  redis_timeout = "500ms"
  redis_retry_interval = "100ms"
`)
	nodes := []*node{startNode(t, cfg), startNode(t, cfg), startNode(t, cfg)}
	alice := func(i int) result { return do(t, nodes[i%3].url+"/orders", "X-API-Key", "alice-key") }

	rs, _ := concurrently(12, alice)
	noServerErrors(t, "redis up", rs)
	if got := count(rs, 200); got != 12 {
		t.Fatalf("with Redis up, %d of 12 passed", got)
	}

	rd.Stop()
	rs, _ = concurrently(60, alice)
	noServerErrors(t, "redis down", rs)
	for i, n := range nodes {
		passed := 0
		for j := i; j < len(rs); j += 3 {
			if rs[j].status == 200 {
				passed++
			}
		}
		// The fallback starts from zero (it never saw Redis's counts):
		// exactly 30/3 of the node's 20 requests pass.
		if passed != 10 {
			t.Errorf("node %d passed %d of 20 requests while Redis was down, want 10 (30 / 3 nodes)", i, passed)
		}
		st := rateLimits(t, n)
		if !st.Redis.Down || st.Redis.Fallbacks < 20 || st.Redis.Errors == 0 || st.Redis.OnError != "local" || st.Redis.Nodes != 3 {
			t.Errorf("node %d: GET /rate-limits while Redis is down: %+v", i, st.Redis)
		}
		if log := n.log.String(); !strings.Contains(log, "rate-limit: redis failed, deciding without it") ||
			!strings.Contains(log, "on_redis_error=local") {
			t.Errorf("node %d logged no failure:\n%s", i, log)
		}
		// Once, not per request: 20 fallback decisions, one line (and at
		// most one reminder, every 10 s).
		if log := n.log.String(); strings.Count(log, "rate-limit: redis failed") != 1 || strings.Count(log, "still deciding without redis") > 1 {
			t.Errorf("node %d: want one failure line and at most one reminder for %d fallbacks:\n%s", i, st.Redis.Fallbacks, log)
		}
	}
	for _, r := range rs {
		if r.status == 429 && (r.headers["Retry-After"] == "" || !strings.HasPrefix(r.headers["Ratelimit-Policy"], `"3600s";q=10;`)) {
			t.Fatalf("a fallback refusal without its fields: %v", r.headers)
		}
	}

	rd.Restart()
	// The nodes try Redis again 100ms after their last failure, one
	// request at a time; the restarted Redis is empty, so alice starts
	// over. Poll each node until it reports Redis up.
	deadline := time.Now().Add(10 * time.Second)
	for i, n := range nodes {
		for rateLimits(t, n).Redis.Down {
			if time.Now().After(deadline) {
				t.Fatalf("node %d still decides without Redis 10s after it came back", i)
			}
			if r := do(t, n.url+"/orders", "X-API-Key", "bob-key"); r.status >= 500 {
				t.Fatalf("node %d: %d during recovery", i, r.status)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(n.log.String(), "rate-limit: redis answers again") {
			t.Errorf("node %d did not log the recovery:\n%s", i, n.log.String())
		}
	}
	// Back on Redis: one count for the cluster again.
	rs, _ = concurrently(45, alice)
	noServerErrors(t, "redis back", rs)
	if got := count(rs, 200); got != 30 {
		t.Errorf("after the recovery %d of 45 passed across the nodes, want 30 (the restarted Redis starts from zero)", got)
	}
}

// TestClusterNamedLimitFromLua: a named limit on Redis, called by
// scripts/ratelimit.lua on three nodes: one bucket per client for the
// whole cluster, exactly its burst of 20 for concurrent requests spread
// over the nodes.
func TestClusterNamedLimitFromLua(t *testing.T) {
	rd := redistest.Start(t)
	up := upstreamOK(t)
	cfg := `
[redis]
addresses = ["` + rd.Addr + `"]

[[rate_limits]]
name = "per-client"
limits = [{ requests = 10, per = "1h", burst = 20 }]
algorithm = "gcra"
policy = "redis"
redis_timeout = "4s"             # exactness, not speed, on a busy test machine

[[upstreams]]
name = "up"
targets = [{ url = "` + up.URL + `" }]

[[routes]]
name = "api"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  script = "` + scriptsDir + `/ratelimit.lua"
  timeout = "5s"                 # the call to Redis is bounded by the step's deadline too
  [routes.plugins.config]
  header = "X-API-Key"
`
	nodes := []*node{startNode(t, cfg), startNode(t, cfg), startNode(t, cfg)}
	rs, _ := concurrently(90, func(i int) result {
		return do(t, nodes[i%3].url+"/x", "X-API-Key", "k1")
	})
	noServerErrors(t, "load", rs)
	if got := count(rs, 200); got != 20 {
		t.Errorf("%d of %d passed across 3 nodes, want exactly 20 (the burst)", got, len(rs))
	}
	for i, n := range nodes {
		if st := rateLimits(t, n); st.Name != "per-client" || st.Redis.Errors != 0 || st.Redis.Calls != 30 {
			t.Errorf("node %d: %+v %+v", i, st, st.Redis)
		}
	}
}
