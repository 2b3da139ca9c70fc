package upstream

import (
	"math"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/fasthttp"
)

// testTargets builds targets on distinct loopback ports (never dialled).
func testTargets(t testing.TB, weights ...int) []*Target {
	t.Helper()
	cfg := &config.Upstream{}
	cfg.SetDefaults()
	var out []*Target
	for i, w := range weights {
		tg, err := newTarget(config.Target{URL: "http://127.0.0.1:" + strconv.Itoa(20000+i), Weight: w}, targetOptions{cfg: cfg})
		if err != nil {
			t.Fatal(err)
		}
		tg.index, tg.bit = i, 1<<(i%64)
		out = append(out, tg)
	}
	return out
}

func testBalancer(t testing.TB, name string, targets []*Target, edit func(*config.Upstream)) Balancer {
	t.Helper()
	cfg := &config.Upstream{Balancer: name}
	cfg.SetDefaults()
	cfg.Balancer = name
	if edit != nil {
		edit(cfg)
	}
	f, ok := lookupBalancer(name)
	if !ok {
		t.Fatalf("no balancer %q", name)
	}
	b, err := f(targets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testContext returns a chain context for a request from ip with headers.
func testContext(t testing.TB, ip string, headers ...string) *reqctx.Context {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	req := &fasthttp.Request{}
	req.SetRequestURI("http://example.com/x")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	fc.Init(req, &net.TCPAddr{IP: net.ParseIP(ip), Port: 1234}, nil)
	c := reqctx.Acquire(fc)
	t.Cleanup(func() { reqctx.Release(c) })
	return c
}

func now() int64 { return time.Now().UnixNano() }

func counts(b Balancer, c *reqctx.Context, n int, f func() Filter) map[int]int {
	out := map[int]int{}
	for range n {
		t := b.Pick(c, f())
		if t == nil {
			out[-1]++
			continue
		}
		out[t.index]++
	}
	return out
}

func TestRoundRobinWeights(t *testing.T) {
	ts := testTargets(t, 5, 3, 1)
	b := testBalancer(t, "round-robin", ts, nil)
	c := testContext(t, "10.0.0.1")
	got := counts(b, c, 9000, func() Filter { return Filter{Now: now()} })
	for i, want := range []int{5000, 3000, 1000} {
		if got[i] != want {
			t.Errorf("target %d: got %d picks, want %d", i, got[i], want)
		}
	}
}

func TestRoundRobinIsSmooth(t *testing.T) {
	// nginx's smooth order for 5,1,1 is a a b a c a a: the heavy target
	// never runs more than twice in a row inside a cycle, and the light
	// ones are spread out, never next to each other.
	ts := testTargets(t, 5, 1, 1)
	order := smoothOrder(ts)
	var s []byte
	for _, i := range order {
		s = append(s, "abc"[i])
	}
	if string(s) != "aabacaa" {
		t.Fatalf("got order %s, want aabacaa", s)
	}
	// Weights 3,2,1 interleave too: no target twice in a row except the
	// heaviest at most twice.
	order = smoothOrder(testTargets(t, 3, 2, 1))
	run, prev := 0, uint32(99)
	for _, i := range order {
		if i == prev {
			run++
		} else {
			run = 1
		}
		prev = i
		if run > 2 || run > 1 && i != 0 {
			t.Fatalf("burst in order %v", order)
		}
	}
}

func TestRoundRobinSkipsDownTargetsKeepingShares(t *testing.T) {
	ts := testTargets(t, 4, 2, 1)
	b := testBalancer(t, "round-robin", ts, nil)
	c := testContext(t, "10.0.0.1")
	ts[1].ejectedUntil.Store(now() + int64(time.Hour))
	got := counts(b, c, 5000, func() Filter { return Filter{Now: now()} })
	if got[1] != 0 || got[-1] != 0 {
		t.Fatalf("ejected target picked or no pick: %v", got)
	}
	ratio := float64(got[0]) / float64(got[2])
	if math.Abs(ratio-4) > 0.2 {
		t.Fatalf("got ratio %.2f between the targets left (%v), want 4", ratio, got)
	}
	// A retry never goes back to a tried target.
	f := Filter{Now: now(), Tried: ts[0].bit}
	for range 100 {
		if p := b.Pick(c, f); p != ts[2] {
			t.Fatalf("got %v, want the only untried healthy target", p)
		}
	}
	f.Tried |= ts[2].bit
	if p := b.Pick(c, f); p != nil {
		t.Fatalf("got %s with every healthy target tried, want nil", p.URL)
	}
}

func TestRoundRobinScalesHugeWeights(t *testing.T) {
	ts := testTargets(t, 10000, 9999, 1)
	order := smoothOrder(ts)
	if len(order) > maxCycle+3 {
		t.Fatalf("got cycle of %d, want at most %d", len(order), maxCycle)
	}
	got := map[uint32]int{}
	for _, i := range order {
		got[i]++
	}
	if got[2] < 1 || math.Abs(float64(got[0])/float64(got[1])-1) > 0.01 {
		t.Fatalf("got shares %v", got)
	}
}

func TestLeastConnPicksFewestPerWeight(t *testing.T) {
	ts := testTargets(t, 1, 2, 1)
	b := testBalancer(t, "least-conn", ts, nil)
	c := testContext(t, "10.0.0.1")
	ts[0].active.Store(3)
	ts[1].active.Store(4) // 4/2 = 2 per weight: the least loaded
	ts[2].active.Store(5)
	for range 10 {
		if p := b.Pick(c, Filter{Now: now()}); p != ts[1] {
			t.Fatalf("got %s, want target 1", p.URL)
		}
	}
	// Equal load per weight: the heavier target takes the next request.
	for _, tg := range ts {
		tg.active.Store(2)
	}
	if p := b.Pick(c, Filter{Now: now()}); p != ts[1] {
		t.Fatalf("got %s, want target 1 (2 in flight for weight 2)", p.URL)
	}
	ts[1].active.Store(3) // 1.5 per weight against 2: still the least
	if p := b.Pick(c, Filter{Now: now()}); p != ts[1] {
		t.Fatalf("got %s, want target 1", p.URL)
	}
	ts[1].active.Store(5)
	got := map[int]int{}
	for range 100 {
		got[b.Pick(c, Filter{Now: now()}).index]++
	}
	if got[1] != 0 || got[0] == 0 || got[2] == 0 {
		t.Fatalf("got %v, want ties between targets 0 and 2 shared", got)
	}
}

func TestEWMASendsLessToSlowTargets(t *testing.T) {
	ts := testTargets(t, 1, 1, 1)
	b := testBalancer(t, "ewma", ts, nil)
	c := testContext(t, "10.0.0.1")
	n := now()
	ts[0].observe(2*time.Millisecond, n)
	ts[1].observe(2*time.Millisecond, n)
	ts[2].observe(80*time.Millisecond, n)
	got := counts(b, c, 3000, func() Filter { return Filter{Now: now()} })
	if got[2]*10 > got[0] || got[2]*10 > got[1] {
		t.Fatalf("got %v, want the slow target 2 picked far less", got)
	}
	// The peak is taken at once, faster samples lower it slowly.
	ts[0].observe(50*time.Millisecond, n)
	if l := ts[0].Latency(); l != 50*time.Millisecond {
		t.Fatalf("got latency %v after a slow sample, want 50ms", l)
	}
	ts[0].observe(time.Millisecond, n+int64(time.Second))
	if l := ts[0].Latency(); l >= 50*time.Millisecond || l < 40*time.Millisecond {
		t.Fatalf("got latency %v one second after, want slightly below 50ms", l)
	}
}

func TestConsistentHashStableAndMinimalRemap(t *testing.T) {
	const keys = 20000
	pick := func(ts []*Target) []string {
		b := testBalancer(t, "consistent-hash", ts, func(u *config.Upstream) { u.HashOn = "header"; u.HashKey = "X-User" })
		ch := b.(*consistentHash)
		out := make([]string, keys)
		for k := range keys {
			out[k] = ch.lookup(xxhashString("user-"+strconv.Itoa(k)), Filter{Now: now()}).URL
		}
		return out
	}
	ten := testTargets(t, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	before := pick(ten[:10])
	again := pick(ten[:10])
	per := map[string]int{}
	for k := range before {
		if before[k] != again[k] {
			t.Fatal("the same key went to two targets")
		}
		per[before[k]]++
	}
	for u, n := range per {
		if n < keys/10*6/10 || n > keys/10*14/10 {
			t.Errorf("target %s got %d of %d keys, want about %d", u, n, keys, keys/10)
		}
	}
	after := pick(ten) // one target added
	moved := 0
	for k := range before {
		if before[k] != after[k] {
			moved++
			if after[k] != ten[10].URL {
				t.Fatalf("key %d moved from %s to %s, not to the new target", k, before[k], after[k])
			}
		}
	}
	frac := float64(moved) / keys
	t.Logf("adding 1 target to 10 moved %.3f of the keys (ideal %.3f)", frac, 1.0/11)
	if frac < 0.04 || frac > 0.15 {
		t.Fatalf("adding 1 target to 10 moved %.3f of the keys, want about 1/11", frac)
	}
	removed := pick(append(append([]*Target{}, ten[:3]...), ten[4:10]...))
	moved = 0
	for k := range before {
		if before[k] != removed[k] {
			moved++
			if before[k] != ten[3].URL {
				t.Fatalf("key %d moved although its target %s stayed", k, before[k])
			}
		}
	}
	frac = float64(moved) / keys
	t.Logf("removing 1 target of 10 moved %.3f of the keys (ideal 0.100)", frac)
	if frac < 0.05 || frac > 0.16 {
		t.Fatalf("removing 1 of 10 targets moved %.3f of the keys, want about 1/10", frac)
	}
}

func TestConsistentHashFallsBackToNextHealthy(t *testing.T) {
	ts := testTargets(t, 1, 1, 1)
	b := testBalancer(t, "consistent-hash", ts, func(u *config.Upstream) { u.HashOn = "header"; u.HashKey = "X-User" })
	c := testContext(t, "10.0.0.1", "X-User", "alice")
	first := b.Pick(c, Filter{Now: now()})
	first.ejectedUntil.Store(now() + int64(time.Hour))
	second := b.Pick(c, Filter{Now: now()})
	if second == nil || second == first {
		t.Fatalf("got %v, want another target while %s is down", second, first.URL)
	}
	first.ejectedUntil.Store(0)
	if p := b.Pick(c, Filter{Now: now()}); p != first {
		t.Fatalf("got %s, want the key back on %s", p.URL, first.URL)
	}
	// Without the header, the client IP is the key.
	c2 := testContext(t, "10.0.0.9")
	p := b.Pick(c2, Filter{Now: now()})
	for range 20 {
		if b.Pick(c2, Filter{Now: now()}) != p {
			t.Fatal("the same client IP went to two targets")
		}
	}
}

func TestStickyCookie(t *testing.T) {
	ts := testTargets(t, 1, 1, 1)
	b := testBalancer(t, "sticky", ts, func(u *config.Upstream) { u.Sticky.Secret = "s3cret" })
	s := b.(*sticky)
	c := testContext(t, "10.0.0.1")
	first := b.Pick(c, Filter{Now: now()})
	s.Picked(c, first)
	ck := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(ck)
	ck.SetKey("moongate_sticky")
	if !c.Response.Header.Cookie(ck) {
		t.Fatal("no sticky cookie set")
	}
	value := string(ck.Value())
	for range 30 {
		c2 := testContext(t, "10.0.0.2", "Cookie", "moongate_sticky="+value)
		if p := b.Pick(c2, Filter{Now: now()}); p != first {
			t.Fatalf("got %s, want %s named by the cookie", p.URL, first.URL)
		}
	}
	// A forged cookie (signature of another target's value) is ignored.
	forged := []byte(value)
	forged[0] ^= 1
	picks := map[*Target]int{}
	for range 30 {
		c3 := testContext(t, "10.0.0.3", "Cookie", "moongate_sticky="+string(forged))
		picks[b.Pick(c3, Filter{Now: now()})]++
	}
	if len(picks) < 2 {
		t.Fatalf("forged cookie pinned the client: %v", picks)
	}
	// A stale cookie (its target down) falls back to another target.
	first.activeDown.Store(true)
	c4 := testContext(t, "10.0.0.4", "Cookie", "moongate_sticky="+value)
	if p := b.Pick(c4, Filter{Now: now()}); p == nil || p == first {
		t.Fatalf("got %v for a cookie naming a down target", p)
	}
	// Another secret does not accept the cookie.
	other := testBalancer(t, "sticky", ts, func(u *config.Upstream) { u.Sticky.Secret = "other" }).(*sticky)
	if other.fromCookie([]byte(value), Filter{Now: now(), AnyHealth: true}) != nil {
		t.Fatal("a cookie signed with another secret was accepted")
	}
	// An expired cookie is ignored.
	ttl := testBalancer(t, "sticky", ts, func(u *config.Upstream) { u.Sticky.Secret = "s"; u.Sticky.TTL = config.Duration(time.Minute) }).(*sticky)
	c5 := testContext(t, "10.0.0.5")
	ttl.Picked(c5, ts[2])
	c5.Response.Header.Cookie(ck)
	if ttl.fromCookie(ck.Value(), Filter{Now: now(), AnyHealth: true}) != ts[2] {
		t.Fatal("fresh cookie with a ttl rejected")
	}
	if ttl.fromCookie(ck.Value(), Filter{Now: now() + int64(2*time.Minute), AnyHealth: true}) != nil {
		t.Fatal("expired cookie accepted")
	}
}

func TestBudgetCapsRetries(t *testing.T) {
	var b budget
	b.pct, b.minPerSec = 20, 0
	n := now()
	for range 100 {
		b.request(n)
	}
	allowed := 0
	for range 100 {
		if b.allowRetry(n) {
			allowed++
		}
	}
	if allowed != 20 {
		t.Fatalf("got %d retries allowed for 100 requests at 20%%, want 20", allowed)
	}
	b.minPerSec = 1
	if !b.allowRetry(n) {
		t.Fatal("min_per_second did not allow one more")
	}
}

func TestOutlierEjectionGrows(t *testing.T) {
	cfg := &config.Upstream{Name: "u", Targets: []config.Target{{URL: "http://127.0.0.1:1", Weight: 1}}}
	cfg.SetDefaults()
	cfg.Outlier.ConsecutiveFailures = 3
	u, err := New(cfg, "upstreams[0]", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	tg := u.targets[0]
	n := now()
	u.failed(tg, n, nil)
	u.failed(tg, n, nil)
	if !tg.Up(n) {
		t.Fatal("ejected before 3 failures in a row")
	}
	u.failed(tg, n, nil)
	if tg.Up(n) || tg.Up(n+int64(9*time.Second)) || !tg.Up(n+int64(10*time.Second)) {
		t.Fatal("first ejection is not base_ejection (10s)")
	}
	n2 := n + int64(11*time.Second)
	for range 3 {
		u.failed(tg, n2, nil)
	}
	if tg.Up(n2+int64(19*time.Second)) || !tg.Up(n2+int64(20*time.Second)) {
		t.Fatal("second ejection in a row is not twice base_ejection")
	}
	// After max_ejection in service it starts again from base.
	n3 := n2 + int64(20*time.Second) + int64(6*time.Minute)
	for range 3 {
		u.failed(tg, n3, nil)
	}
	if !tg.Up(n3 + int64(10*time.Second)) {
		t.Fatal("cool-down did not reset after a long healthy period")
	}
}

// TestStickyFindsTheCookieTargetWithoutAScan: the target a sticky cookie
// names is found through an index, not by walking the upstream's targets
// (4 µs a pick with 1 000 targets). The slice the balancer was built from
// is cleared afterwards: a walk would meet nil targets; the index finds
// the cookie's target among 1 000.
func TestStickyFindsTheCookieTargetWithoutAScan(t *testing.T) {
	const n = 1000
	weights := make([]int, n)
	for i := range weights {
		weights[i] = 1
	}
	ts := testTargets(t, weights...)
	b := testBalancer(t, "sticky", ts, func(u *config.Upstream) { u.Sticky.Secret = "k" })
	want := ts[n-1]
	c := testContext(t, "10.1.2.3", "Cookie", stickyCookie(t, b, want))
	clear(ts)
	if got := b.Pick(c, Filter{Now: now()}); got != want {
		t.Fatalf("picked %v, want the cookie's target %s", got, want.URL)
	}
}
