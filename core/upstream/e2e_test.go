package upstream_test

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/upstream"
	"github.com/valyala/fasthttp"
)

// server is a loopback HTTP server that can be stopped and started again
// on the same address, to kill a target and bring it back.
type server struct {
	addr string
	name string
	hits atomic.Int64
	mu   sync.Mutex
	srv  *fasthttp.Server
	ln   net.Listener
}

// startServer listens on 127.0.0.2, where the gateways under test (on
// 127.0.0.1) never bind, so that a stopped server's port stays refused and
// free for its restart.
func startServer(t *testing.T, name string) *server {
	t.Helper()
	s := &server{name: name}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *server) url() string { return "http://" + s.addr }

func (s *server) serve(ln net.Listener) {
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		s.hits.Add(1)
		ctx.Response.Header.Set("X-Served-By", s.name)
		ctx.SetBodyString(s.name)
	}, IdleTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go srv.Serve(ln) //nolint:errcheck // ends at stop
}

func (s *server) stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Closing the listener first also stops a Serve that has not
		// started yet, which Shutdown alone would miss.
		ln.Close()
		srv.Shutdown() //nolint:errcheck // best effort
	}
}

func (s *server) restart(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("restart %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// adminUpstreams reads GET /upstreams.
func adminUpstreams(t *testing.T, g *gatewaytest.Gateway) []upstream.State {
	t.Helper()
	st, body, _ := gatewaytest.Do(t, "GET", g.AdminURL+"/upstreams", nil)
	if st != 200 {
		t.Fatalf("GET /upstreams: %d %s", st, body)
	}
	var out []upstream.State
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func targetState(t *testing.T, g *gatewaytest.Gateway, url string) upstream.TargetState {
	t.Helper()
	for _, u := range adminUpstreams(t, g) {
		for _, ts := range u.Targets {
			if ts.URL == url {
				return ts
			}
		}
	}
	t.Fatalf("target %s not in /upstreams", url)
	return upstream.TargetState{}
}

// load sends requests from workers until stop is closed (or n requests),
// counting answers other than 200.
type load struct {
	ok, failed atomic.Int64
	firstErr   atomic.Pointer[string]
	wg         sync.WaitGroup
	stop       chan struct{}
}

// loadSpec describes a load: by default GETs with a millisecond between
// two requests of a worker.
type loadSpec struct {
	method string
	body   []byte
	// gate, when set, is read-locked around every request: a test that
	// takes the write lock knows no request is in flight until it lets go.
	gate   *sync.RWMutex
	noWait bool // no pause between requests
}

func startLoad(t *testing.T, url string, workers, maxRequests int) *load {
	return startLoadSpec(t, url, workers, maxRequests, loadSpec{})
}

func startLoadSpec(t *testing.T, url string, workers, maxRequests int, spec loadSpec) *load {
	l := &load{stop: make(chan struct{})}
	c := gatewaytest.Client()
	var sent atomic.Int64
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for sent.Add(1) <= int64(maxRequests) {
				select {
				case <-l.stop:
					return
				default:
				}
				req.Reset()
				req.SetRequestURI(url)
				if spec.method != "" {
					req.Header.SetMethod(spec.method)
				}
				if spec.body != nil {
					req.SetBody(spec.body)
				}
				if spec.gate != nil {
					spec.gate.RLock()
				}
				err := c.DoTimeout(req, resp, 10*time.Second)
				if spec.gate != nil {
					spec.gate.RUnlock()
				}
				if err == nil && resp.StatusCode() == 200 {
					l.ok.Add(1)
				} else {
					l.failed.Add(1)
					msg := "status " + strconv.Itoa(resp.StatusCode()) + " " + string(resp.Body())
					if err != nil {
						msg = err.Error()
					}
					l.firstErr.CompareAndSwap(nil, &msg)
				}
				if !spec.noWait {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	return l
}

// done returns how many requests were answered.
func (l *load) done() int64 { return l.ok.Load() + l.failed.Load() }

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

// waitFor polls cond every 20ms for at most d.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func TestKillTargetUnderLoad(t *testing.T) {
	a, b, c := startServer(t, "a"), startServer(t, "b"), startServer(t, "c")
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "pool"
targets = [{ url = "`+a.url()+`" }, { url = "`+b.url()+`" }, { url = "`+c.url()+`" }]
timeout = "2s"
[upstreams.retries]
attempts = 2
[upstreams.outlier]
consecutive_failures = 3
base_ejection = "30s"
[upstreams.health]
path = "/health"
interval = "100ms"
timeout = "500ms"
healthy_threshold = 1
unhealthy_threshold = 2

[[routes]]
upstream = "pool"
`)
	l := startLoad(t, g.URL+"/x", 4, 20000)
	if !waitFor(5*time.Second, func() bool { return b.hits.Load() > 20 }) {
		t.Fatal("no traffic reached b")
	}
	b.stop()
	before := a.hits.Load() + c.hits.Load()
	if !waitFor(5*time.Second, func() bool { return a.hits.Load()+c.hits.Load() > before+300 }) {
		t.Fatal("traffic did not go on to a and c")
	}
	st := targetState(t, g, b.url())
	if st.State == "healthy" {
		t.Errorf("killed target still healthy in /upstreams: %+v", st)
	}
	t.Logf("killed target: state %s, failures %d, last error %q", st.State, st.Failures, st.LastError)

	// Bring it back: the active check lets traffic return to it.
	b.restart(t)
	back := b.hits.Load()
	if !waitFor(10*time.Second, func() bool { return b.hits.Load() > back+20 }) {
		t.Fatalf("traffic did not return to the revived target (state %+v)", targetState(t, g, b.url()))
	}
	l.finish()
	t.Logf("requests: %d ok, %d failed", l.ok.Load(), l.failed.Load())
	if n := l.failed.Load(); n != 0 {
		t.Fatalf("got %d failed client requests with retries on, want 0; first: %s", n, *l.firstErr.Load())
	}
}

// hanging accepts connections and reads from them, never answering.
func hanging(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
					if _, err := c.Read(buf); err != nil {
						if ne, ok := err.(net.Error); ok && ne.Timeout() {
							select {
							case <-done:
								return
							default:
								continue
							}
						}
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { close(done); ln.Close(); conns.Wait() })
	return "http://" + ln.Addr().String()
}

func TestHangingTargetTimesOutAndPoolRecovers(t *testing.T) {
	hang := hanging(t)
	good := startServer(t, "good")
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "pool"
targets = [{ url = "`+hang+`" }, { url = "`+good.url()+`" }]
timeout = "300ms"
[upstreams.outlier]
consecutive_failures = 2
base_ejection = "1m"

[[routes]]
upstream = "pool"
`)
	var timeouts, oks int
	for range 12 {
		start := time.Now()
		st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil)
		switch st {
		case 504:
			timeouts++
			if el := time.Since(start); el < 300*time.Millisecond {
				t.Fatalf("504 after %v, before the configured timeout", el)
			}
		case 200:
			oks++
		default:
			t.Fatalf("got %d %s", st, body)
		}
	}
	t.Logf("while the hanging target was in: %d timeouts (504), %d ok", timeouts, oks)
	if timeouts != 2 {
		t.Fatalf("got %d timeouts, want 2 (consecutive_failures) before the hanging target is ejected", timeouts)
	}
	for i := range 20 {
		if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil); st != 200 {
			t.Fatalf("request %d after ejection: %d %s", i, st, body)
		}
	}
	if s := targetState(t, g, hang); s.State != "ejected" {
		t.Fatalf("hanging target state %q, want ejected", s.State)
	}
}

func TestAllTargetsDown(t *testing.T) {
	dead1, dead2 := startServer(t, "d1"), startServer(t, "d2")
	dead1.stop()
	dead2.stop()
	conf := func(mode string) string {
		return `
[[upstreams]]
name = "pool"
targets = [{ url = "` + dead1.url() + `" }, { url = "` + dead2.url() + `" }]
timeout = "30s"
connect_timeout = "30s"
when_all_down = "` + mode + `"
[upstreams.outlier]
consecutive_failures = 1
base_ejection = "20s"
[[routes]]
upstream = "pool"
`
	}
	t.Run("fail", func(t *testing.T) {
		g := gatewaytest.Start(t, conf("fail"))
		statuses := map[int]int{}
		var retryAfter string
		for range 6 {
			st, _, resp := gatewaytest.Do(t, "GET", g.URL+"/x", nil)
			statuses[st]++
			if st == 503 {
				retryAfter = string(resp.Header.Peek("Retry-After"))
			}
		}
		t.Logf("statuses: %v", statuses)
		// Refused connections answer 502 at once (not after the 30s
		// timeouts): the first request tries both targets (a refused
		// connection is tried again on another target), which ejects
		// both; then 503 with Retry-After.
		if statuses[502] != 1 || statuses[503] != 5 {
			t.Fatalf("got %v, want 1×502 then 5×503", statuses)
		}
		if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 || n > 20 {
			t.Fatalf("got Retry-After %q, want 1..20 seconds", retryAfter)
		}
	})
	t.Run("panic", func(t *testing.T) {
		g := gatewaytest.Start(t, conf("panic"))
		statuses := map[int]int{}
		for range 6 {
			st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil)
			statuses[st]++
		}
		t.Logf("statuses: %v", statuses)
		if statuses[502] != 6 {
			t.Fatalf("got %v, want every request tried (502: refused)", statuses)
		}
		// Panic mode still sends to the ejected targets: bring one back.
		dead1.restart(t)
		defer dead1.stop()
		if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil); st != 200 && st != 502 {
			t.Fatalf("got %d %s", st, body)
		}
		if !waitFor(3*time.Second, func() bool {
			st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil)
			return st == 200
		}) {
			t.Fatal("panic mode never reached the revived target")
		}
	})
}

func TestWeightedDistribution(t *testing.T) {
	a, b, c := startServer(t, "a"), startServer(t, "b"), startServer(t, "c")
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "pool"
targets = [{ url = "`+a.url()+`", weight = 3 }, { url = "`+b.url()+`", weight = 2 }, { url = "`+c.url()+`", weight = 1 }]
[[routes]]
upstream = "pool"
`)
	for range 600 {
		if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil); st != 200 {
			t.Fatalf("got %d %s", st, body)
		}
	}
	got := []int64{a.hits.Load(), b.hits.Load(), c.hits.Load()}
	t.Logf("hits for weights 3,2,1: %v", got)
	for i, want := range []int64{300, 200, 100} {
		if d := got[i] - want; d < -want/20 || d > want/20 {
			t.Fatalf("got %v hits, want %v within 5%%", got, []int64{300, 200, 100})
		}
	}
}

func TestConsistentHashAcrossReload(t *testing.T) {
	s := []*server{startServer(t, "s0"), startServer(t, "s1"), startServer(t, "s2"), startServer(t, "s3")}
	conf := func(n int) string {
		var ts []string
		for _, x := range s[:n] {
			ts = append(ts, `{ url = "`+x.url()+`" }`)
		}
		return `
[[upstreams]]
name = "pool"
balancer = "consistent-hash"
hash_on = "header"
hash_key = "X-User"
targets = [` + strings.Join(ts, ", ") + `]
[[routes]]
upstream = "pool"
`
	}
	g := gatewaytest.Start(t, conf(3))
	const users = 300
	where := func() []string {
		out := make([]string, users)
		for u := range users {
			st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "X-User", "user-"+strconv.Itoa(u))
			if st != 200 {
				t.Fatalf("got %d %s", st, body)
			}
			out[u] = string(body)
		}
		return out
	}
	first := where()
	if again := where(); strings.Join(again, ",") != strings.Join(first, ",") {
		t.Fatal("the same user went to two targets")
	}
	g.Rewrite(t, conf(4))
	if r := g.Reload(); !r.OK {
		t.Fatalf("reload: %v", r.Messages)
	}
	after := where()
	moved := 0
	for u := range users {
		if after[u] != first[u] {
			moved++
			if after[u] != "s3" {
				t.Fatalf("user %d moved from %s to %s, not to the new target", u, first[u], after[u])
			}
		}
	}
	t.Logf("adding a 4th target moved %d of %d users (ideal %d)", moved, users, users/4)
	if moved < users/10 || moved > users*2/5 {
		t.Fatalf("adding a 4th target moved %d of %d users, want about a quarter", moved, users)
	}
}

func TestStickyCookieEndToEnd(t *testing.T) {
	a, b, c := startServer(t, "a"), startServer(t, "b"), startServer(t, "c")
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "pool"
balancer = "sticky"
targets = [{ url = "`+a.url()+`" }, { url = "`+b.url()+`" }, { url = "`+c.url()+`" }]
[upstreams.sticky]
secret = "test-secret"
cookie = "route"

[[routes]]
upstream = "pool"
`)
	st, first, resp := gatewaytest.Do(t, "GET", g.URL+"/x", nil)
	if st != 200 {
		t.Fatalf("got %d", st)
	}
	ck := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(ck)
	ck.SetKey("route")
	if !resp.Header.Cookie(ck) || !ck.HTTPOnly() {
		t.Fatalf("no HttpOnly sticky cookie in %q", resp.Header.Peek("Set-Cookie"))
	}
	cookie := "route=" + string(ck.Value())
	for range 20 {
		_, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "Cookie", cookie)
		if string(body) != string(first) {
			t.Fatalf("got %s, want every request on %s", body, first)
		}
	}
	// A tampered cookie is ignored: requests spread, and a new cookie comes.
	bad := []byte(cookie)
	bad[len(bad)-1] ^= 0x01
	seen := map[string]bool{}
	for range 9 {
		_, body, resp := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "Cookie", string(bad))
		seen[string(body)] = true
		if len(resp.Header.Peek("Set-Cookie")) == 0 {
			t.Fatal("no fresh cookie for a tampered one")
		}
	}
	if len(seen) < 2 {
		t.Fatalf("tampered cookie pinned the client to %v", seen)
	}
}

// setTargetStep sends each request to the URL in its X-Target header
// (plugin.Context.SetTarget, what gw.upstream.set_target uses).
type setTargetStep struct{}

func (setTargetStep) OnRequest(c *plugin.Context) error {
	if t := c.Request.Header.Peek("X-Target"); len(t) > 0 {
		c.SetTarget(string(t))
	}
	return nil
}

func init() {
	plugin.Register("test-set-target", func(plugin.Spec) (any, error) { return setTargetStep{}, nil })
}

func TestPerRequestTarget(t *testing.T) {
	a := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.WriteString("a") })
	b := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.WriteString("b") })
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "u"
targets = [{ url = "`+a.URL+`" }]
timeout = "5s"
[[routes]]
paths = ["/"]
upstream = "u"
  [[routes.plugins]]
  name = "test-set-target"
`)
	for i := 0; i < 3; i++ {
		if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "X-Target", b.URL); st != 200 || string(body) != "b" {
			t.Fatalf("with a target: %d %q", st, body)
		}
	}
	if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil); st != 200 || string(body) != "a" {
		t.Fatalf("without: %d %q", st, body)
	}
	if a.Hits() != 1 || b.Hits() != 3 {
		t.Errorf("hits a=%d b=%d, want 1 and 3", a.Hits(), b.Hits())
	}
}

// TestRequestsBeyondMaxConnectionsWait: with every connection to a target
// in use, a request waits for one to be free (bounded by connect_timeout)
// instead of failing: 8 clients at once through max_connections = 2 all
// get their answer, and the target never sees more than 2 at a time. A
// request that cannot get one within connect_timeout still fails (502).
func TestRequestsBeyondMaxConnectionsWait(t *testing.T) {
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if string(ctx.Path()) == "/slow" {
			<-release
		} else {
			time.Sleep(20 * time.Millisecond)
		}
		ctx.WriteString("ok")
	})
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
max_connections = 2
connect_timeout = "2s"
timeout = "10s"
[[routes]]
paths = ["/"]
upstream = "u"
`)
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = gatewaytest.Do(t, "GET", g.URL+"/fast", nil)
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 200 {
			t.Fatalf("client %d: status %d, want 200 (statuses %v)", i, st, statuses)
		}
	}
	if m := most.Load(); m > 2 {
		t.Fatalf("the target saw %d requests at once, max_connections is 2", m)
	}

	// Both connections held: the next request waits connect_timeout, then fails.
	var held sync.WaitGroup
	for range 2 {
		held.Add(1)
		go func() {
			defer held.Done()
			gatewaytest.Do(t, "GET", g.URL+"/slow", nil)
		}()
	}
	for inFlight.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/fast", nil)
	waited := time.Since(start)
	close(release)
	held.Wait()
	if st != 502 && st != 503 && st != 504 {
		t.Fatalf("with every connection held past connect_timeout: status %d, want a 5xx", st)
	}
	if waited < time.Second {
		t.Fatalf("failed after %v: it should have waited for a free connection (connect_timeout 2s)", waited)
	}
}
