package concurrencylimit

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// step builds a concurrency-limit step from its TOML lines, as a route's
// step, or returns the problems.
func step(t testing.TB, lines string) (*Plugin, error) {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte("[[routes]]\nname = \"api\"\npaths = [\"/\"]\n  [[routes.plugins]]\n  name = \"concurrency-limit\"\n  [routes.plugins.config]\n"+lines))
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Routes[0].Plugins[0]
	inst, err := New(plugin.Spec{Name: st.Name, Config: st.Config, Step: st, Path: "routes[0].plugins[0]", Route: "api",
		Env: &plugin.Env{Config: cfg}})
	if err != nil {
		return nil, err
	}
	p := inst.(*Plugin)
	t.Cleanup(func() { p.Cleanup() })
	return p, nil
}

func mustStep(t testing.TB, lines string) *Plugin {
	t.Helper()
	p, err := step(t, lines)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// request is one request in the step's request phase, on its own
// fasthttp context: end() is the end of its response (fasthttp closes
// the context's user values then).
type request struct {
	fc     *fasthttp.RequestCtx
	c      *plugin.Context
	status int // 0: passed on
	retry  string
}

func run(t testing.TB, p *Plugin, consumerName string) *request {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}, nil)
	c := plugintest.NewContext(fc)
	c.Params.Reset()
	if consumerName != "" {
		c.Consumer = &consumer.Consumer{Name: consumerName}
	}
	r := &request{fc: fc, c: c}
	if err := p.OnRequest(c); err != nil {
		t.Fatal(err)
	}
	if c.Answered() {
		r.status = c.Response.StatusCode()
		r.retry = string(c.Response.Header.Peek("Retry-After"))
	}
	return r
}

func (r *request) end() {
	r.fc.Request.Reset() // as fasthttp does once the response is written
	plugintest.Release(r.c)
}

// TestSlotsPerKey: max_in_flight requests of a key pass, the next is
// refused (503 per route, with Retry-After) until one of them ends; keys
// do not share slots; per consumer the refusal is 429.
func TestSlotsPerKey(t *testing.T) {
	p := mustStep(t, "max_in_flight = 2\n")
	a, b := run(t, p, ""), run(t, p, "")
	c := run(t, p, "")
	if a.status != 0 || b.status != 0 || c.status != 503 || c.retry != "1" {
		t.Fatalf("statuses %d %d %d (Retry-After %q), want 0 0 503 (1)", a.status, b.status, c.status, c.retry)
	}
	if st := p.Stats(); st.InFlight != 2 || st.Refused != 1 {
		t.Errorf("stats %+v", st)
	}
	a.end()
	if d := run(t, p, ""); d.status != 0 {
		t.Errorf("after one ended: %d", d.status)
	} else {
		d.end()
	}
	b.end()
	c.end()
	if st := p.Stats(); st.InFlight != 0 {
		t.Errorf("all ended, in flight %d", st.InFlight)
	}

	pc := mustStep(t, "max_in_flight = 1\nkey = \"consumer\"\nretry_after = \"2500ms\"\n")
	alice, bob := run(t, pc, "alice"), run(t, pc, "bob")
	alice2 := run(t, pc, "alice")
	if alice.status != 0 || bob.status != 0 || alice2.status != 429 || alice2.retry != "3" {
		t.Errorf("per consumer: %d %d %d %q", alice.status, bob.status, alice2.status, alice2.retry)
	}
	anon := run(t, pc, "")
	if anon2 := run(t, pc, ""); anon.status != 0 || anon2.status != 429 {
		t.Errorf("requests without a consumer share one key: %d %d", anon.status, anon2.status)
	}
	pp := mustStep(t, "max_in_flight = 1\nkey = \"consumer\"\nmissing_key = \"pass\"\n")
	for i := 0; i < 3; i++ {
		if r := run(t, pp, ""); r.status != 0 {
			t.Errorf("pass %d: %d", i, r.status)
		}
	}
}

// TestQueue: a full key's requests wait in its queue, first come first
// served, while the queue has room; the others are refused at once; a
// request that waits past queue_timeout is refused.
func TestQueue(t *testing.T) {
	p := mustStep(t, "max_in_flight = 1\nqueue = 2\nqueue_timeout = \"30s\"\n")
	first := run(t, p, "")
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	queued := make([]*request, 2)
	for i := range queued {
		wg.Add(1)
		go func() {
			defer wg.Done()
			queued[i] = run(t, p, "")
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}()
		// Wait until it is in the queue, so that the order is known.
		waitFor(t, func() bool { return p.Stats().Waiting == i+1 })
	}
	if r := run(t, p, ""); r.status != 503 {
		t.Errorf("with the queue full: %d, want 503", r.status)
	}
	first.end()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 1 })
	queued[order[0]].end()
	wg.Wait()
	if order[0] != 0 || order[1] != 1 || queued[0].status != 0 || queued[1].status != 0 {
		t.Errorf("dequeued in order %v with %d %d, want [0 1] 0 0", order, queued[0].status, queued[1].status)
	}
	queued[1].end()
	if st := p.Stats(); st.InFlight != 0 || st.Waiting != 0 || st.Queued != 2 || st.Refused != 1 {
		t.Errorf("stats %+v", st)
	}

	pt := mustStep(t, "max_in_flight = 1\nqueue = 1\nqueue_timeout = \"20ms\"\n")
	hold := run(t, pt, "")
	if r := run(t, pt, ""); r.status != 503 {
		t.Errorf("after queue_timeout: %d, want 503", r.status)
	}
	if st := pt.Stats(); st.TimedOut != 1 || st.Waiting != 0 || st.InFlight != 1 {
		t.Errorf("stats %+v", st)
	}
	hold.end()
}

// waitFor polls cond (it depends on other goroutines) for up to 10s.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNeverMoreThanMax: under concurrent acquisitions and releases, with
// waits in the queue and timeouts, no more than max_in_flight are in
// flight at once, and every slot comes back.
func TestNeverMoreThanMax(t *testing.T) {
	p := mustStep(t, "max_in_flight = 3\nqueue = 4\nqueue_timeout = \"2ms\"\n")
	var in, peak, served atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				r := run(t, p, "")
				if r.status != 0 {
					r.end()
					continue
				}
				n := in.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				served.Add(1)
				in.Add(-1)
				r.end()
			}
		}()
	}
	wg.Wait()
	st := p.Stats()
	if peak.Load() > 3 || st.InFlight != 0 || st.Waiting != 0 || served.Load() == 0 {
		t.Errorf("peak %d, served %d, stats %+v", peak.Load(), served.Load(), st)
	}
}

// TestIdleKeysAreBounded: keys with nothing in flight are forgotten past
// max_keys.
func TestIdleKeysAreBounded(t *testing.T) {
	p := mustStep(t, "max_in_flight = 1\nkey = \"consumer\"\nmax_keys = 64\n")
	for i := 0; i < 5000; i++ {
		run(t, p, "c"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('A'+i/26%26))+string(rune('0'+i/676))).end()
	}
	if st := p.Stats(); st.Keys > 64+len(p.slots.shards) || st.InFlight != 0 {
		t.Errorf("keys %d after 5000 distinct keys, max_keys 64", st.Keys)
	}
}

func TestConfigProblems(t *testing.T) {
	_, err := step(t, "max_in_flight = 0\nkey = \"cookie:x\"\nqueue = -1\nstatus = 302\nmissing_key = \"skip\"\nqueue_timeout = \"2m\"\n")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"test.toml:7: routes[0].plugins[0].config.max_in_flight: must be at least 1, got 0",
		`test.toml:8: routes[0].plugins[0].config.key: unknown kind "cookie"`,
		"test.toml:9: routes[0].plugins[0].config.queue: must be between 0 and 100000, got -1",
		"test.toml:10: routes[0].plugins[0].config.status: must be between 400 and 599, got 302",
		`routes[0].plugins[0].config.missing_key: must be "anonymous" or "pass"`,
		`routes[0].plugins[0].config.queue_timeout: must be at most "60s"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
