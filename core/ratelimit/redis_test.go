package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/redisconn"
	"github.com/moongate/moongate/core/redistest"
	"github.com/redis/go-redis/v9"
)

func newClient(t testing.TB, addr string, o redisconn.Options) redis.UniversalClient {
	t.Helper()
	o.Addresses = []string{addr}
	c, err := redisconn.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustRedis(t testing.TB, c redis.UniversalClient, l Limit, o RedisOptions) *Redis {
	t.Helper()
	r, err := NewRedis(c, l, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRedisScriptMatchesLocal runs the same random traffic through the Lua
// scripts (on a real redis-server, with the script's clock set by the
// test) and through the Go implementation of the local policy, and
// requires every decision, Retry-After, Remaining and Reset to be equal.
func TestRedisScriptMatchesLocal(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv.Addr, redisconn.Options{ReadTimeout: 5 * time.Second})
	for _, tc := range []struct {
		name string
		l    Limit
	}{
		{"sliding one window", Limit{Windows: []Window{{Requests: 10, Per: time.Second}}, SubWindows: 10}},
		{"sliding two windows", Limit{Windows: []Window{{Requests: 20, Per: 7 * time.Second}, {Requests: 5, Per: time.Second}}}},
		{"sliding one bucket", Limit{Windows: []Window{{Requests: 3, Per: time.Second}}, SubWindows: 1}},
		{"gcra", Limit{Algorithm: GCRA, Windows: []Window{{Requests: 10, Per: time.Second, Burst: 4}}}},
		{"gcra two windows", Limit{Algorithm: GCRA, Windows: []Window{{Requests: 50, Per: 10 * time.Second}, {Requests: 5, Per: time.Second, Burst: 2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRedis(t, client, tc.l, RedisOptions{Prefix: "diff:" + tc.name + ":", Timeout: 5 * time.Second})
			lc := mustLocal(t, tc.l, LocalOptions{})
			rng := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
			nowUS := int64(1_700_000_000_000_000) + rng.Int64N(1_000_000)
			var lr, rr Result
			allowed := 0
			for step := range 1500 {
				nowUS += rng.Int64N(80_000)
				if rng.IntN(40) == 0 {
					nowUS += rng.Int64N(10_000_000)
				}
				key := []byte("k" + strconv.Itoa(rng.IntN(2)))
				cost := int64(1)
				if rng.IntN(5) == 0 {
					cost = 1 + rng.Int64N(3)
				}
				lc.allowAt(nowUS*1000, key, cost, &lr)
				if err := r.eval(ctx, key, cost, nowUS, &rr); err != nil {
					t.Fatal(err)
				}
				if lr.Allowed != rr.Allowed || lr.RetryAfter != rr.RetryAfter || fmt.Sprint(lr.Windows) != fmt.Sprint(rr.Windows) {
					t.Fatalf("step %d at %dµs key %s cost %d:\nredis %v %v %v\nlocal %v %v %v", step, nowUS, key, cost,
						rr.Allowed, rr.RetryAfter, rr.Windows, lr.Allowed, lr.RetryAfter, lr.Windows)
				}
				if rr.Allowed {
					allowed++
				}
			}
			if allowed < 100 || allowed > 1400 {
				t.Fatalf("%d of 1500 allowed: the traffic does not exercise the limit", allowed)
			}
		})
	}
}

// TestRedisServerClockAndTTL: with Redis's own clock, 5 per minute lets 5
// through and asks the 6th to wait about a minute; the key carries a TTL
// that ends when its state is fresh, so Redis forgets it by itself.
func TestRedisServerClockAndTTL(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv.Addr, redisconn.Options{})
	for _, alg := range []Algorithm{SlidingWindow, GCRA} {
		t.Run(alg.String(), func(t *testing.T) {
			r := mustRedis(t, client, Limit{Algorithm: alg, Windows: []Window{{Requests: 5, Per: time.Minute}}}, RedisOptions{Prefix: "ttl:" + alg.String() + ":"})
			if got := allowN(r, "alice", 8); got != 5 {
				t.Fatalf("%d passed, want 5", got)
			}
			var res Result
			r.Allow(ctx, []byte("alice"), &res)
			if res.Allowed || res.Source != SourceRedis || res.RetryAfter <= 0 || res.RetryAfter > 63*time.Second {
				t.Fatalf("6th: %+v, want refused by redis with a retry of at most 63s", res)
			}
			keys, err := client.Keys(ctx, "ttl:"+alg.String()+":*").Result()
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys %v (%v), want one", keys, err)
			}
			ttl, err := client.PTTL(ctx, keys[0]).Result()
			// sliding: the newest bucket leaves 1m + up to 3s after now;
			// gcra: the bucket is full again 1m after the first request.
			if err != nil || ttl < 55*time.Second || ttl > 63*time.Second {
				t.Fatalf("TTL of %s: %v (%v), want about a minute", keys[0], ttl, err)
			}
		})
	}
}

// TestRedisThreeNodesExact: three limiters, each with its own client (three
// gateway nodes), share one Redis under concurrent load; a limit of 100 per
// minute lets exactly 100 through per key across the three.
func TestRedisThreeNodesExact(t *testing.T) {
	srv := redistest.Start(t)
	var nodes [3]*Redis
	for i := range nodes {
		c := newClient(t, srv.Addr, redisconn.Options{PoolSize: 8})
		// A generous timeout: this test is about exactness, not latency,
		// and the machine is shared.
		nodes[i] = mustRedis(t, c, Limit{Windows: []Window{{Requests: 100, Per: time.Minute}}}, RedisOptions{Prefix: "three:", Timeout: 5 * time.Second})
	}
	const keys, perNode, workers = 3, 400, 8
	var passed [keys]atomic.Int64
	var errs atomic.Int64
	var start, wg sync.WaitGroup
	start.Add(1)
	for n := range nodes {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var res Result
				start.Wait()
				for i := range keys * perNode / workers {
					k := (n + w + i) % keys
					nodes[n].Allow(ctx, []byte("consumer:"+strconv.Itoa(k)), &res)
					if res.Err != nil {
						errs.Add(1)
					}
					if res.Allowed {
						passed[k].Add(1)
					}
				}
			}()
		}
	}
	start.Done()
	wg.Wait()
	if errs.Load() != 0 {
		t.Fatalf("%d decisions failed on Redis", errs.Load())
	}
	for k := range passed {
		if got := passed[k].Load(); got != 100 {
			t.Errorf("key %d: %d passed across 3 nodes, want 100", k, got)
		}
	}
}

// TestRedisDownFallsBackAndRecovers: Redis killed mid-run. With on_error =
// local the limiter decides on the node with the limit divided by the
// node count, says so in Result.Err/Source and its counters, calls OnDown
// once, and goes back to Redis by itself after a restart (OnUp).
func TestRedisDownFallsBackAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv.Addr, redisconn.Options{})
	var downs, ups atomic.Int64
	r := mustRedis(t, client, Limit{Windows: []Window{{Requests: 100, Per: time.Minute}}}, RedisOptions{
		Nodes: 4, RetryInterval: 50 * time.Millisecond, Timeout: time.Second,
		OnDown: func(error) { downs.Add(1) }, OnUp: func() { ups.Add(1) },
	})
	var res Result
	if got := allowN(r, "alice", 10); got != 10 {
		t.Fatalf("with Redis: %d passed, want 10", got)
	}
	srv.Stop()
	r.Allow(ctx, []byte("bob"), &res)
	if !res.Allowed || res.Source != SourceFallback || res.Err == nil || res.Err == ErrUnavailable {
		t.Fatalf("first decision without Redis: %+v, want allowed by the fallback with the Redis error", res)
	}
	t.Logf("the error: %v", res.Err)
	// 100 per minute on 4 nodes: the fallback allows 25 per node; bob used 1.
	if got := allowN(r, "bob", 30); got != 24 {
		t.Fatalf("fallback: %d more passed, want 24", got)
	}
	r.Allow(ctx, []byte("bob"), &res)
	if res.Allowed || res.Source != SourceFallback || res.Windows[0].Limit != 25 || res.RetryAfterSeconds() < 60 {
		t.Fatalf("fallback refusal: %+v, want refused with limit 25 and a retry of a minute", res)
	}
	st := r.Stats()
	if st.Errors < 1 || st.Fallbacks != 32 || !st.Down || downs.Load() != 1 || ups.Load() != 0 {
		t.Fatalf("stats %+v downs %d ups %d, want errors, 32 fallbacks, down, one OnDown", st, downs.Load(), ups.Load())
	}

	srv.Restart()
	// go-redis re-dials a failed server within about a second; the limiter
	// asks again every RetryInterval. Bounded wait for the first Redis answer.
	deadline := time.Now().Add(15 * time.Second)
	for {
		r.Allow(ctx, []byte("carol"), &res)
		if res.Source == SourceRedis {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Redis decision 15s after the restart: %+v, stats %+v", res, r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := r.Stats(); st.Down || ups.Load() != 1 || downs.Load() != 1 {
		t.Fatalf("after recovery: stats %+v ups %d downs %d, want up, one OnUp", st, ups.Load(), downs.Load())
	}
	// The restarted Redis is empty (no persistence in this test): counts
	// start again from Redis's point of view.
	if got := allowN(r, "dave", 101); got != 100 {
		t.Fatalf("after recovery: %d passed, want 100", got)
	}
}

// TestRedisOnErrorAllowAndDeny: the two other on_error choices, with no
// windows in the result (nothing was counted).
func TestRedisOnErrorAllowAndDeny(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv.Addr, redisconn.Options{})
	l := Limit{Windows: []Window{{Requests: 1, Per: time.Minute}}}
	allow := mustRedis(t, client, l, RedisOptions{OnError: OnErrorAllow, RetryInterval: time.Hour})
	deny := mustRedis(t, client, l, RedisOptions{OnError: OnErrorDeny, RetryInterval: 2 * time.Second})
	srv.Stop()
	var res Result
	for i := range 3 {
		allow.Allow(ctx, []byte("k"), &res)
		if !res.Allowed || res.Source != SourceErrorAllow || res.Err == nil || len(res.Windows) != 0 {
			t.Fatalf("allow #%d: %+v", i, res)
		}
		deny.Allow(ctx, []byte("k"), &res)
		if res.Allowed || res.Source != SourceErrorDeny || res.Err == nil || len(res.Windows) != 0 || res.RetryAfterSeconds() != 2 {
			t.Fatalf("deny #%d: %+v", i, res)
		}
	}
	// After the first failure, the limiter does not ask Redis again before
	// the retry interval.
	if st := allow.Stats(); st.Calls != 1 || st.Errors != 1 || st.Fallbacks != 3 {
		t.Fatalf("allow stats %+v, want 1 call, 1 error, 3 fallbacks", st)
	}
	if !errors.Is(res.Err, ErrUnavailable) {
		t.Fatalf("later decisions: err %v, want ErrUnavailable", res.Err)
	}
}

// TestRedisHangingIsBoundedByTimeout: a Redis that accepts but never
// answers (SIGSTOP) costs a request at most the limiter's timeout, not the
// client's socket timeout; the decision falls back and counts a timeout.
func TestRedisHangingIsBoundedByTimeout(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv.Addr, redisconn.Options{ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	r := mustRedis(t, client, Limit{Windows: []Window{{Requests: 10, Per: time.Minute}}}, RedisOptions{Timeout: 50 * time.Millisecond, RetryInterval: 100 * time.Millisecond})
	var res Result
	r.Allow(ctx, []byte("k"), &res) // warm a connection
	if res.Source != SourceRedis {
		t.Fatalf("warm-up: %+v", res)
	}
	srv.Pause()
	defer srv.Resume()
	began := time.Now()
	r.Allow(ctx, []byte("k"), &res)
	took := time.Since(began)
	t.Logf("a decision against a hanging Redis took %v", took)
	if res.Source != SourceFallback || !res.Allowed || !isTimeout(res.Err) {
		t.Fatalf("against a hanging Redis: %+v, want a fallback after a timeout", res)
	}
	// Generous: the point is 50ms instead of the socket's 30s.
	if took > 5*time.Second {
		t.Fatalf("the decision took %v, the timeout is 50ms", took)
	}
	if st := r.Stats(); st.Timeouts != 1 || !st.Down {
		t.Fatalf("stats %+v, want one timeout, down", st)
	}
	srv.Resume()
	deadline := time.Now().Add(15 * time.Second)
	for res.Source != SourceRedis {
		if time.Now().After(deadline) {
			t.Fatalf("no Redis decision 15s after resuming: %+v", r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
		r.Allow(ctx, []byte("k"), &res)
	}
}

// TestRedisCluster: the limiter works through a Cluster client (a
// one-node cluster owning every slot): one key per decision, in one slot.
func TestRedisCluster(t *testing.T) {
	srv := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	plain := newClient(t, srv.Addr, redisconn.Options{})
	if err := plain.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := plain.Do(ctx, "CLUSTER", "INFO").Text()
		if err == nil && contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ok: %q %v", info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	client := newClient(t, srv.Addr, redisconn.Options{Cluster: true})
	if _, ok := client.(*redis.ClusterClient); !ok {
		t.Fatalf("client %T, want a cluster client", client)
	}
	for _, alg := range []Algorithm{SlidingWindow, GCRA} {
		r := mustRedis(t, client, Limit{Algorithm: alg, Windows: []Window{{Requests: 7, Per: time.Minute}, {Requests: 3, Per: time.Second}}}, RedisOptions{Timeout: 5 * time.Second})
		if got := allowN(r, "{odd}key", 10); got != 3 {
			t.Fatalf("%s through the cluster: %d passed, want 3", alg, got)
		}
	}
}

func TestNewRedisRefusesAClientWithoutDeadlines(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := NewRedis(c, Limit{Windows: []Window{{Requests: 1, Per: time.Second}}}, RedisOptions{}); err == nil || !contains(err.Error(), "ContextTimeoutEnabled") {
		t.Fatalf("got %v, want a refusal naming ContextTimeoutEnabled", err)
	}
	if _, err := ParseOnError("drop"); err == nil {
		t.Fatal(`on_error "drop" accepted`)
	}
}

var _ Limiter = (*Redis)(nil)
var _ Limiter = (*Local)(nil)

// keep context imported for helpers used by benchmarks.
var _ context.Context = ctx
