package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is an injectable monotonic clock for tests.
type clock struct{ ns atomic.Int64 }

func newClock(at time.Duration) *clock {
	c := &clock{}
	c.ns.Store(int64(at))
	return c
}
func (c *clock) now() int64           { return c.ns.Load() }
func (c *clock) set(at time.Duration) { c.ns.Store(int64(at)) }
func (c *clock) add(d time.Duration)  { c.ns.Add(int64(d)) }
func (c *clock) at() time.Duration    { return time.Duration(c.ns.Load()) }
func mustLocal(t testing.TB, l Limit, o LocalOptions) *Local {
	t.Helper()
	lc, err := NewLocal(l, o)
	if err != nil {
		t.Fatal(err)
	}
	return lc
}

var ctx = context.Background()

// allowN runs n decisions for key and returns how many passed.
func allowN(lim Limiter, key string, n int) int {
	var res Result
	ok := 0
	for range n {
		lim.Allow(ctx, []byte(key), &res)
		if res.Allowed {
			ok++
		}
	}
	return ok
}

func TestSlidingWindowBoundaries(t *testing.T) {
	// 10 per second in 10 buckets of 100ms.
	clk := newClock(5 * time.Second)
	lc := mustLocal(t, Limit{Windows: []Window{{Requests: 10, Per: time.Second}}, SubWindows: 10}, LocalOptions{Now: clk.now})
	var res Result

	for i := range 10 {
		lc.Allow(ctx, []byte("k"), &res)
		if !res.Allowed || res.Windows[0].Remaining != int64(9-i) {
			t.Fatalf("request %d: allowed=%v remaining=%d, want true %d", i, res.Allowed, res.Windows[0].Remaining, 9-i)
		}
	}
	if got, want := res.Windows[0].Reset, 1100*time.Millisecond; got != want {
		t.Errorf("reset after 10 at t=5s: %v, want %v (bucket [5.0s,5.1s) leaves at 6.1s)", got, want)
	}
	lc.Allow(ctx, []byte("k"), &res)
	if res.Allowed || res.RetryAfter != 1100*time.Millisecond || res.RetryAfterSeconds() != 2 {
		t.Fatalf("11th: allowed=%v retry=%v (%ds), want false 1.1s (2s)", res.Allowed, res.RetryAfter, res.RetryAfterSeconds())
	}
	// One nanosecond before the bucket leaves: still refused, and a refused
	// request is not counted.
	clk.set(6100*time.Millisecond - 1)
	if got := allowN(lc, "k", 5); got != 0 {
		t.Fatalf("at 6.1s-1ns: %d passed, want 0", got)
	}
	clk.set(6100 * time.Millisecond)
	if got := allowN(lc, "k", 11); got != 10 {
		t.Fatalf("at 6.1s: %d passed, want 10", got)
	}
	// Another key is independent.
	if got := allowN(lc, "other", 11); got != 10 {
		t.Fatalf("other key: %d passed, want 10", got)
	}
}

// TestSlidingWindowPartialExpiry: requests spread over buckets leave one
// bucket at a time, and RetryAfter points at the first bucket whose leaving
// makes room.
func TestSlidingWindowPartialExpiry(t *testing.T) {
	clk := newClock(10 * time.Second)
	lc := mustLocal(t, Limit{Windows: []Window{{Requests: 4, Per: time.Second}}, SubWindows: 4}, LocalOptions{Now: clk.now}) // buckets of 250ms
	var res Result
	for _, at := range []time.Duration{10000, 10000, 10300, 10600} { // ms
		clk.set(at * time.Millisecond)
		lc.Allow(ctx, []byte("k"), &res)
		if !res.Allowed {
			t.Fatalf("at %dms refused", at)
		}
	}
	clk.set(10700 * time.Millisecond)
	lc.Allow(ctx, []byte("k"), &res)
	// The two requests of bucket [10.0,10.25) leave at 10.0+1.25 = 11.25s.
	if res.Allowed || res.RetryAfter != 550*time.Millisecond {
		t.Fatalf("at 10.7s: allowed=%v retry=%v, want false 550ms", res.Allowed, res.RetryAfter)
	}
	clk.set(11250 * time.Millisecond)
	if got := allowN(lc, "k", 3); got != 2 {
		t.Fatalf("at 11.25s: %d passed, want 2", got)
	}
}

// TestSlidingWindowGuarantee checks the documented guarantee on random
// traffic: at most N requests pass in ANY closed interval of length Per,
// and a request is refused only if N passed in the last Per + Per/k.
func TestSlidingWindowGuarantee(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		per  time.Duration
		k    int
		cost int64
	}{
		{10, time.Second, 10, 1},
		{7, 3 * time.Second, 20, 1},
		{100, time.Minute, 20, 1},
		{5, time.Second, 1, 1},
		{20, time.Second, 7, 3},
	} {
		t.Run(fmt.Sprintf("%d_per_%s_k%d_cost%d", tc.n, tc.per, tc.k, tc.cost), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.k)))
			clk := newClock(time.Hour)
			lc := mustLocal(t, Limit{Windows: []Window{{Requests: tc.n, Per: tc.per}}, SubWindows: tc.k}, LocalOptions{Now: clk.now})
			w := int64(tc.per) / int64(tc.k)
			type ev struct{ t, cost int64 }
			var passed []ev
			var res Result
			for range 20000 {
				// Bursts and gaps: mostly tiny steps, sometimes long ones.
				step := rng.Int64N(int64(tc.per) / (tc.n * 2))
				if rng.IntN(50) == 0 {
					step = rng.Int64N(int64(tc.per) * 2)
				}
				clk.add(time.Duration(step))
				now := clk.now()
				lc.AllowN(ctx, []byte("k"), tc.cost, &res)
				var inPer, inPerW int64
				for i := len(passed) - 1; i >= 0 && passed[i].t >= now-int64(tc.per)-w; i-- {
					if passed[i].t >= now-int64(tc.per) {
						inPer += passed[i].cost
					}
					inPerW += passed[i].cost
				}
				if res.Allowed {
					if inPer+tc.cost > tc.n {
						t.Fatalf("at %d: passed with %d already in the last %s, limit %d", now, inPer, tc.per, tc.n)
					}
					passed = append(passed, ev{now, tc.cost})
				} else if inPerW+tc.cost <= tc.n {
					t.Fatalf("at %d: refused with only %d in the last per+width", now, inPerW)
				}
			}
			if len(passed) < 100 {
				t.Fatalf("only %d passed: the traffic does not exercise the limit", len(passed))
			}
		})
	}
}

func TestGCRA(t *testing.T) {
	// 10 per second (one every 100ms), bursts of 5.
	clk := newClock(time.Hour)
	lc := mustLocal(t, Limit{Algorithm: GCRA, Windows: []Window{{Requests: 10, Per: time.Second, Burst: 5}}}, LocalOptions{Now: clk.now})
	var res Result
	for i := range 5 {
		lc.Allow(ctx, []byte("k"), &res)
		if !res.Allowed || res.Windows[0].Remaining != int64(4-i) {
			t.Fatalf("request %d: allowed=%v remaining=%d, want true %d", i, res.Allowed, res.Windows[0].Remaining, 4-i)
		}
	}
	if res.Windows[0].Reset != 500*time.Millisecond {
		t.Errorf("reset after the burst: %v, want 500ms (bucket full again)", res.Windows[0].Reset)
	}
	lc.Allow(ctx, []byte("k"), &res)
	if res.Allowed || res.RetryAfter != 100*time.Millisecond {
		t.Fatalf("6th: allowed=%v retry=%v, want false 100ms", res.Allowed, res.RetryAfter)
	}
	clk.add(100*time.Millisecond - 1)
	if allowN(lc, "k", 1) != 0 {
		t.Fatal("passed 1ns before the emission interval")
	}
	clk.add(1)
	if got := allowN(lc, "k", 3); got != 1 {
		t.Fatalf("after 100ms: %d passed, want 1", got)
	}
	// A long pause refills the bucket to the burst, not beyond.
	clk.add(time.Minute)
	if got := allowN(lc, "k", 10); got != 5 {
		t.Fatalf("after a pause: %d passed, want the burst of 5", got)
	}
}

// TestGCRAGuarantee: at most Burst + floor(d/T) requests pass in any closed
// interval of length d, and a refusal means the bucket really was empty.
func TestGCRAGuarantee(t *testing.T) {
	const n, burst = 10, 4
	per := time.Second
	T := int64(per) / n
	rng := rand.New(rand.NewPCG(1, 2))
	clk := newClock(time.Hour)
	lc := mustLocal(t, Limit{Algorithm: GCRA, Windows: []Window{{Requests: n, Per: per, Burst: burst}}}, LocalOptions{Now: clk.now})
	var passed []int64
	var res Result
	for range 5000 {
		clk.add(time.Duration(rng.Int64N(2 * T)))
		lc.Allow(ctx, []byte("k"), &res)
		if res.Allowed {
			passed = append(passed, clk.now())
		}
	}
	for i := range passed {
		for j := i; j < len(passed); j++ {
			d := passed[j] - passed[i]
			if d > 20*T {
				break
			}
			if int64(j-i+1) > burst+d/T {
				t.Fatalf("%d passed in %dns, bound %d", j-i+1, d, burst+d/T)
			}
		}
	}
	if len(passed) < 1000 {
		t.Fatalf("only %d passed", len(passed))
	}
}

// TestAllWindowsMustPass: a request refused by one window is counted in
// none, so a client blocked by the short window does not use up the long
// one.
func TestAllWindowsMustPass(t *testing.T) {
	for _, alg := range []Algorithm{SlidingWindow, GCRA} {
		t.Run(alg.String(), func(t *testing.T) {
			clk := newClock(time.Hour)
			lc := mustLocal(t, Limit{Algorithm: alg, Windows: []Window{{Requests: 3, Per: time.Second}, {Requests: 5, Per: time.Minute, Name: "minute"}}}, LocalOptions{Now: clk.now})
			var res Result
			if got := allowN(lc, "k", 10); got != 3 {
				t.Fatalf("first second: %d passed, want 3", got)
			}
			lc.Allow(ctx, []byte("k"), &res)
			if res.Windows[1].Remaining != 2 || res.Windows[1].Name != "minute" || res.Windows[0].Name != "1s" {
				t.Fatalf("windows after refusals: %+v, want the minute window at 2 remaining", res.Windows)
			}
			if res.Tightest() != 0 {
				t.Errorf("tightest window %d, want 0", res.Tightest())
			}
			clk.add(3 * time.Second)
			if got := allowN(lc, "k", 10); got != 2 {
				t.Fatalf("after the second window: %d passed, want 2 (the minute window's rest)", got)
			}
			lc.Allow(ctx, []byte("k"), &res)
			// The minute window refuses: the sliding window until its first
			// bucket leaves (1m3s after the first request), GCRA until one
			// token is back (12s after the first request).
			want := time.Minute
			if alg == GCRA {
				want = 9 * time.Second
			}
			if res.Tightest() != 1 || res.RetryAfter != want {
				t.Fatalf("tightest %d retry %v, want 1 and %v", res.Tightest(), res.RetryAfter, want)
			}
		})
	}
}

// TestConcurrentBurstIsExact: 1000 concurrent requests against a limit of
// 100 let exactly 100 through, for one key and for many keys at once.
func TestConcurrentBurstIsExact(t *testing.T) {
	for _, alg := range []Algorithm{SlidingWindow, GCRA} {
		t.Run(alg.String(), func(t *testing.T) {
			lc := mustLocal(t, Limit{Algorithm: alg, Windows: []Window{{Requests: 100, Per: time.Hour}}}, LocalOptions{})
			const keys, perKey = 20, 1000
			var passed [keys]atomic.Int64
			var start, wg sync.WaitGroup
			start.Add(1)
			for g := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var res Result
					start.Wait()
					for i := range keys * perKey / 50 {
						k := (g + i) % keys
						lc.Allow(ctx, []byte("key-"+strconv.Itoa(k)), &res)
						if res.Allowed {
							passed[k].Add(1)
						}
					}
				}()
			}
			start.Done()
			wg.Wait()
			for k := range passed {
				if got := passed[k].Load(); got != 100 {
					t.Errorf("key %d: %d passed, want exactly 100", k, got)
				}
			}
		})
	}
}

// TestScanOfDistinctKeysStaysBounded: a scan of 1,000,000 distinct keys
// (one per client IP, say) against a table of 10,000 keys keeps memory
// bounded, and the keys that were in the table keep their counts: none is
// evicted while live, so none gets its quota back early.
func TestScanOfDistinctKeysStaysBounded(t *testing.T) {
	scan := 1_000_000
	if testing.Short() || raceEnabled {
		scan = 200_000
	}
	clk := newClock(time.Hour)
	const maxKeys = 10_000
	lc := mustLocal(t, Limit{Windows: []Window{{Requests: 10, Per: time.Minute}}}, LocalOptions{MaxKeys: maxKeys, Now: clk.now})
	// 100 live clients use 7 of their 10.
	for i := range 100 {
		if got := allowN(lc, "client-"+strconv.Itoa(i), 7); got != 7 {
			t.Fatalf("client %d: %d passed, want 7", i, got)
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var res Result
	key := make([]byte, 0, 32)
	for i := range scan {
		key = strconv.AppendInt(append(key[:0], "203.0.113."...), int64(i), 10)
		lc.Allow(ctx, key, &res)
		if i%1000 == 0 {
			clk.add(time.Millisecond) // the scan takes 1s of the minute
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	st := lc.Stats()
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("after %d distinct keys: %+v, heap grew %d KiB", scan, st, grew/1024)
	if st.Keys > maxKeys+len(lc.shards) {
		t.Errorf("%d keys in the table, bound %d", st.Keys, maxKeys)
	}
	if st.Overflowed == 0 {
		t.Errorf("no decision went to the overflow state: the table never filled")
	}
	if st.Evictions != 0 {
		t.Errorf("%d live keys evicted", st.Evictions)
	}
	// 10,000 keys of one window with 20 buckets: ~2.2 MB; allow 4x.
	if grew > 10<<20 {
		t.Errorf("heap grew by %d MiB for a table of %d keys", grew>>20, maxKeys)
	}
	for i := range 100 {
		if got := allowN(lc, "client-"+strconv.Itoa(i), 5); got != 3 {
			t.Fatalf("client %d after the scan: %d passed, want the 3 it had left", i, got)
		}
	}
	// Once the scanned keys are fresh again (a window and a bucket later),
	// new keys take their places.
	clk.add(time.Minute + 3*time.Second + time.Millisecond)
	if got := allowN(lc, "newcomer", 11); got != 10 {
		t.Fatalf("new key after the scan expired: %d passed, want 10", got)
	}
	if lc.Stats().Evictions == 0 {
		t.Error("no fresh key was evicted to make room")
	}
}

// TestOverflowedKeyKeepsItsCount: a key decided by the shared overflow
// state while the table was full does not start from zero when it gets a
// place of its own.
func TestOverflowedKeyKeepsItsCount(t *testing.T) {
	clk := newClock(time.Hour)
	lc := mustLocal(t, Limit{Windows: []Window{{Requests: 10, Per: time.Minute}}}, LocalOptions{MaxKeys: 2, Shards: 1, Now: clk.now})
	allowN(lc, "a", 1)
	allowN(lc, "b", 1)
	// The table is full of live keys: "x" is counted in the overflow state.
	if got := allowN(lc, "x", 8); got != 8 {
		t.Fatalf("x in overflow: %d passed, want 8", got)
	}
	if st := lc.Stats(); st.Overflowed != 8 || st.Keys != 2 {
		t.Fatalf("stats %+v, want 8 overflowed decisions and 2 keys", st)
	}
	// At +30s a and b are still live: x stays in the overflow state and
	// has 2 left.
	clk.add(30 * time.Second)
	if got := allowN(lc, "x", 5); got != 2 {
		t.Fatalf("x at +30s: %d passed, want 2", got)
	}
	// At +63s a and b are fresh and x takes a place in the table. Its 8
	// requests at +0s have left the window, its 2 at +30s have not: it has
	// exactly 8 left (starting from zero would give it 10).
	clk.add(33*time.Second + time.Millisecond)
	if got := allowN(lc, "x", 11); got != 8 {
		t.Fatalf("x after entering the table: %d passed, want 8", got)
	}
	if st := lc.Stats(); st.Evictions == 0 || st.Overflowed != 13 {
		t.Fatalf("x did not enter the table: %+v", st)
	}
}

func TestLimitValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Limit
		want string
	}{
		{"no window", Limit{}, "limits: at least one window"},
		{"zero requests", Limit{Windows: []Window{{Requests: 0, Per: time.Second}}}, "limits[0].requests: must be between 1"},
		{"tiny per", Limit{Windows: []Window{{Requests: 1, Per: time.Microsecond}}}, "limits[0].per: must be at least 1ms"},
		{"bad name", Limit{Windows: []Window{{Requests: 1, Per: time.Second, Name: `a"b`}}}, `limits[0].name: "a\"b" is not`},
		{"negative burst", Limit{Windows: []Window{{Requests: 1, Per: time.Second, Burst: -1}}}, "limits[0].burst"},
		{"sub-windows", Limit{SubWindows: 101, Windows: []Window{{Requests: 1, Per: time.Second}}}, "sub_windows: must be between 1 and 100"},
		{"same name", Limit{Windows: []Window{{Requests: 1, Per: time.Second}, {Requests: 2, Per: time.Second}}}, `limits[1]: same policy name "1s" as limits[0]`},
		{"too fast for gcra", Limit{Algorithm: GCRA, Windows: []Window{{Requests: 2000, Per: time.Millisecond}}}, "more than one request per microsecond"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.Validate()
			if err == nil || !contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if _, err := NewLocal(tc.l, LocalOptions{}); err == nil {
				t.Fatal("NewLocal accepted it")
			}
		})
	}
	if _, err := NewLocal(Limit{Windows: []Window{{Requests: 1, Per: time.Second}}}, LocalOptions{Shards: 3}); err == nil {
		t.Fatal("3 shards accepted")
	}
}

func contains(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestHeaderValues(t *testing.T) {
	clk := newClock(time.Hour)
	lc := mustLocal(t, Limit{Windows: []Window{{Requests: 100, Per: time.Minute}, {Requests: 10, Per: time.Second, Name: "burst"}}}, LocalOptions{Now: clk.now})
	var res Result
	allowN(lc, "k", 3)
	lc.Allow(ctx, []byte("k"), &res)
	if got, want := string(res.AppendRateLimitPolicy(nil)), `"60s";q=100;w=60, "burst";q=10;w=1`; got != want {
		t.Errorf("policy %s, want %s", got, want)
	}
	if got, want := string(res.AppendRateLimit(nil)), `"60s";r=96;t=63, "burst";r=6;t=2`; got != want {
		t.Errorf("ratelimit %s, want %s", got, want)
	}
	if res.RetryAfterSeconds() != 0 {
		t.Errorf("retry-after %d for an allowed request", res.RetryAfterSeconds())
	}
}

// TestDecisionDoesNotAllocate guards the performance rule: a decision for
// a known key, and writing its header fields, allocate nothing.
func TestDecisionDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, alg := range []Algorithm{SlidingWindow, GCRA} {
		t.Run(alg.String(), func(t *testing.T) {
			lc := mustLocal(t, Limit{Algorithm: alg, Windows: []Window{{Requests: 1000, Per: time.Minute}, {Requests: 10, Per: time.Second}}}, LocalOptions{})
			key := []byte("consumer:alice")
			var res Result
			buf := make([]byte, 0, 256)
			lc.Allow(ctx, key, &res)
			n := testing.AllocsPerRun(1000, func() {
				lc.Allow(ctx, key, &res)
				buf = res.AppendRateLimit(buf[:0])
				buf = res.AppendRateLimitPolicy(buf)
				buf = strconv.AppendInt(buf, res.RetryAfterSeconds(), 10)
				if i := res.Tightest(); i >= 0 {
					buf = strconv.AppendInt(buf, res.Windows[i].ResetSeconds(), 10)
				}
			})
			if n != 0 {
				t.Errorf("%v allocations per decision, want 0", n)
			}
		})
	}
}
