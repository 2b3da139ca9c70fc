package sdk_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
	"github.com/moongate/moongate/core/redistest"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/sdk"
	"github.com/redis/go-redis/v9"
	lua "github.com/yuin/gopher-lua"
)

// newEnvWith is newEnv with the services of opts (gw.shared, gw.redis,
// gw.ratelimit).
func newEnvWith(t *testing.T, opts sdk.Options) *env {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	opts.Script = "t.lua"
	opts.Cache = store.New(store.MinSize).Namespace("lua:t.lua")
	opts.MaxString = 1 << 20
	e := &env{L: L, s: sdk.Open(L, opts), upstream: okUpstream{}}
	e.chain = e.chainOf(t, "sdk-probe")
	return e
}

// TestDictIsAtomic: increments from many goroutines at once are all
// counted, and of many adds of one key exactly one succeeds.
func TestDictIsAtomic(t *testing.T) {
	d := sdk.NewDict(1 << 20)
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if _, err := d.Incr("n", 1, 0, now); err != nil {
					t.Error(err)
					return
				}
			}
			if ok, _ := d.Add("once", sdk.DictValue{Str: "x"}, 0, now); ok {
				mu.Lock()
				added++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if v, _ := d.Get("n", now); v.Num != 8000 || !v.IsNum {
		t.Errorf("n = %+v, want 8000", v)
	}
	if added != 1 {
		t.Errorf("%d adds of one key succeeded, want 1", added)
	}
}

// TestDictExpiry: a value is gone at its expiry; incr keeps the expiry a
// counter was created with (a fixed window), and starts again from 0
// with a new one once it has passed.
func TestDictExpiry(t *testing.T) {
	d := sdk.NewDict(1 << 20)
	t0 := time.Unix(1000, 0)
	d.Set("s", sdk.DictValue{Str: "v"}, time.Second, t0)
	if _, ok := d.Get("s", t0.Add(999*time.Millisecond)); !ok {
		t.Error("s gone before its expiry")
	}
	if _, ok := d.Get("s", t0.Add(time.Second)); ok {
		t.Error("s still there at its expiry")
	}
	for i, step := range []struct {
		at   time.Duration
		want float64
	}{{0, 1}, {500 * time.Millisecond, 2}, {999 * time.Millisecond, 3}, {time.Second, 1}, {1500 * time.Millisecond, 2}} {
		got, err := d.Incr("c", 1, time.Second, t0.Add(step.at))
		if err != nil || got != step.want {
			t.Errorf("incr %d at +%v: got %v, %v; want %v", i, step.at, got, err, step.want)
		}
	}
	if ok, _ := d.Add("s", sdk.DictValue{Str: "new"}, 0, t0.Add(2*time.Second)); !ok {
		t.Error("add over an expired value failed")
	}
	if _, err := d.Incr("s", 1, 0, t0.Add(2*time.Second)); err != sdk.ErrNotNumber {
		t.Errorf("incr of a string: got %v, want %v", err, sdk.ErrNotNumber)
	}
}

// TestDictFullNeverEvictsLiveEntries: a full dictionary refuses a new
// key rather than drop a live counter (a limit built on it would reset
// early); expired entries make room.
func TestDictFullNeverEvictsLiveEntries(t *testing.T) {
	d := sdk.NewDict(16 * 1024) // 1 KB per shard
	t0 := time.Unix(1000, 0)
	live := 0
	for i := 0; ; i++ {
		key := "live-" + strings.Repeat("k", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
		if _, err := d.Incr(key, 1, 0, t0); err == sdk.ErrNoRoom {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		live++
		if i > 10000 {
			t.Fatal("never full")
		}
	}
	// The first refusal comes from whichever shard fills first: where
	// the keys land depends on the hash seed, so the count varies from
	// run to run (about 100 to 150 here).
	if live < 50 || d.Len() != live {
		t.Fatalf("%d live entries, Len %d", live, d.Len())
	}
	// Every shard refuses new keys now, or is close to: none of the live
	// entries was dropped by the refusals.
	for i := range 200 {
		d.Set("more-"+string(rune('a'+i%26))+string(rune('a'+i/26)), sdk.DictValue{Str: "x"}, 0, t0)
	}
	if d.Len() < live {
		t.Fatalf("Len %d after writes to a full dictionary, want at least %d: live entries were evicted", d.Len(), live)
	}
	// Entries with a TTL make room once expired.
	e := sdk.NewDict(16 * 1024)
	n := 0
	for ; n < 10000; n++ {
		if err := e.Set("t"+string(rune('a'+n%26))+string(rune('a'+n/26%26))+string(rune('a'+n/676%26)), sdk.DictValue{Str: "v"}, time.Second, t0); err != nil {
			break
		}
	}
	if err := e.Set("late", sdk.DictValue{Str: "v"}, 0, t0.Add(2*time.Second)); err != nil {
		t.Errorf("set after %d entries expired: %v", n, err)
	}
}

// TestSharedFromLua: gw.shared's functions, their results and failures.
func TestSharedFromLua(t *testing.T) {
	e := newEnvWith(t, sdk.Options{Shared: sdk.NewDict(1 << 20)})
	if err := e.do(plugin.PhaseRequest, `
assert(gw.shared.get("a") == nil)
assert(gw.shared.set("a", "x", 60) == true)
assert(gw.shared.get("a") == "x")
assert(gw.shared.add("a", "y") == false)
assert(gw.shared.add("b", 5) == true)
assert(gw.shared.get("b") == 5)
assert(gw.shared.incr("b") == 6)
assert(gw.shared.incr("b", -2.5) == 3.5)
assert(gw.shared.incr("new", 3, 10) == 3)
local v, err = gw.shared.incr("a", 1)
assert(v == nil and err == "not a number", tostring(err))
gw.shared.delete("a")
assert(gw.shared.get("a") == nil)
`); err != "" {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{`gw.shared.set("k", {})`, "value must be a string or a number"},
		{`gw.shared.set("k", "v", -1)`, "ttl must be a number of seconds"},
		{`gw.shared.incr("k", 0/0)`, "by must be a finite number"},
	} {
		if err := e.do(plugin.PhaseRequest, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: got %q, want an error with %q", c.src, err, c.want)
		}
	}
	none := newEnv(t)
	if err := none.do(plugin.PhaseRequest, `gw.shared.get("a")`); !strings.Contains(err, "no shared dictionary") {
		t.Errorf("without a dictionary: %q", err)
	}
}

// TestRedisFromLua: gw.redis reads and writes the cluster's Redis under
// its own prefix; when Redis is away a call returns nil and a message
// within the step's deadline instead of raising; without [redis] a call
// is an error.
func TestRedisFromLua(t *testing.T) {
	rd := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rc.Close() })
	e := newEnvWith(t, sdk.Options{Redis: rc})
	e.s.Deadline = time.Now().Add(10 * time.Second)
	if err := e.do(plugin.PhaseRequest, `
assert(gw.redis.get("a") == nil)
assert(gw.redis.set("a", "x", 60) == true)
assert(gw.redis.get("a") == "x")
assert(gw.redis.incr("n", 5, 30) == 5)
assert(gw.redis.incr("n") == 6)
assert(gw.redis.incr("n", -10) == -4)
assert(gw.redis.set("forever", 42) == true)
assert(gw.redis.del("a") == true)
assert(gw.redis.get("a") == nil)
local v, err = gw.redis.incr("forever-text-" .. "x", 1)
assert(v == 1, tostring(err))
gw.redis.set("text", "abc")
v, err = gw.redis.incr("text")
assert(v == nil and err:find("not an integer"), tostring(err))
`); err != "" {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, _ := rc.Get(ctx, sdk.RedisPrefix+"forever").Result(); v != "42" {
		t.Errorf("forever = %q, want 42 under %q", v, sdk.RedisPrefix)
	}
	if ttl, _ := rc.PTTL(ctx, sdk.RedisPrefix+"n").Result(); ttl <= 0 || ttl > 30*time.Second {
		t.Errorf("n's TTL = %v, want the 30s of its creation", ttl)
	}
	if ttl, _ := rc.PTTL(ctx, sdk.RedisPrefix+"forever").Result(); ttl != -1 {
		t.Errorf("forever's TTL = %v, want none", ttl)
	}
	if n, _ := rc.Exists(ctx, "a", "n", "forever").Result(); n != 0 {
		t.Error("gw.redis wrote keys without its prefix")
	}

	rd.Stop()
	e.s.Deadline = time.Now().Add(300 * time.Millisecond)
	if err := e.do(plugin.PhaseRequest, `
for _, f in ipairs({ function() return gw.redis.get("a") end, function() return gw.redis.set("a", "b") end,
                     function() return gw.redis.incr("n") end, function() return gw.redis.del("a") end }) do
  local v, err = f()
  assert(v == nil and type(err) == "string" and err ~= "", tostring(err))
end
`); err != "" {
		t.Fatalf("with Redis stopped: %s", err)
	}

	none := newEnv(t)
	if err := none.do(plugin.PhaseRequest, `gw.redis.get("a")`); !strings.Contains(err, "no [redis] section") {
		t.Errorf("without [redis]: %q", err)
	}
}

// TestRateLimitFromLua: gw.ratelimit.check counts against the named
// limit and reports what is left; an unknown name is an error.
func TestRateLimitFromLua(t *testing.T) {
	lim, err := ratelimit.NewLocal(ratelimit.Limit{Algorithm: ratelimit.GCRA,
		Windows: []ratelimit.Window{{Requests: 3, Per: time.Hour}}}, ratelimit.LocalOptions{MaxKeys: 100, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, sdk.Options{Limits: func(name string) ratelimit.Limiter {
		if name == "three" {
			return lim
		}
		return nil
	}})
	if err := e.do(plugin.PhaseRequest, `
local ok, left, wait = gw.ratelimit.check("three", "alice")
assert(ok == true and left == 2 and wait == 0, tostring(left))
ok, left = gw.ratelimit.check("three", "alice", 2)
assert(ok == true and left == 0, tostring(left))
ok, left, wait = gw.ratelimit.check("three", "alice")
assert(ok == false and left == 0 and wait > 0 and wait <= 1200, tostring(wait))
assert(gw.ratelimit.check("three", "bob") == true)
`); err != "" {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{`gw.ratelimit.check("nope", "k")`, `no rate limit named "nope"`},
		{`gw.ratelimit.check("three", "k", 0)`, "cost must be at least 1"},
	} {
		if err := e.do(plugin.PhaseRequest, c.src); !strings.Contains(err, c.want) {
			t.Errorf("%s: got %q, want an error with %q", c.src, err, c.want)
		}
	}
}
