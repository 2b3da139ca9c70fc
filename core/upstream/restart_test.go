package upstream_test

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/upstream"
	"github.com/valyala/fasthttp"
)

// host is an upstream server on a fixed 127.0.0.1 port that can be
// restarted in two ways:
//   - restart: the process ends and starts again. The listener closes,
//     every connection is closed with a FIN (the gateway's side has
//     acknowledged it before restart returns), a new listener opens on
//     the same port.
//   - reboot: the machine ends and starts again. The listener closes and
//     opens again, but the connections vanish without a word (no FIN
//     ever reaches the gateway); bytes the gateway sends on one later are
//     answered with a reset, as a host that lost their state does (and a
//     NAT or firewall that forgot them). To the gateway they look open
//     until it uses them.
type host struct {
	addr string
	hits atomic.Int64

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*hostConn]struct{}
	servers []*fasthttp.Server

	// warm-up: requests to /warm wait until release is closed
	arrived chan struct{}
	release chan struct{}
}

type hostConn struct {
	*net.TCPConn
	h    *host
	lost atomic.Bool
}

func (c *hostConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 && c.lost.Load() {
		// This host has forgotten the connection: it answers a reset.
		c.TCPConn.SetLinger(0) //nolint:errcheck // close sends a reset
		c.Close()
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *hostConn) Close() error {
	c.h.mu.Lock()
	delete(c.h.conns, c)
	c.h.mu.Unlock()
	return c.TCPConn.Close()
}

type hostListener struct {
	net.Listener
	h *host
}

func (l hostListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	hc := &hostConn{TCPConn: c.(*net.TCPConn), h: l.h}
	l.h.mu.Lock()
	l.h.conns[hc] = struct{}{}
	l.h.mu.Unlock()
	return hc, nil
}

func startHost(t *testing.T) *host {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &host{addr: ln.Addr().String(), conns: map[*hostConn]struct{}{}}
	h.serve(ln)
	t.Cleanup(func() {
		h.mu.Lock()
		ln, conns, servers := h.ln, h.conns, h.servers
		h.conns = map[*hostConn]struct{}{}
		h.mu.Unlock()
		ln.Close()
		for c := range conns {
			c.TCPConn.Close()
		}
		for _, s := range servers {
			s.Shutdown() //nolint:errcheck // best effort
		}
	})
	return h
}

func (h *host) url() string { return "http://" + h.addr }

func (h *host) serve(ln net.Listener) {
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/warm" {
			h.arrived <- struct{}{}
			<-h.release
			return
		}
		h.hits.Add(1)
		ctx.SetBodyString("ok")
	}}
	h.mu.Lock()
	h.ln = ln
	h.servers = append(h.servers, srv)
	h.mu.Unlock()
	go srv.Serve(hostListener{ln, h}) //nolint:errcheck // ends when the listener closes
}

// warm makes n requests through the gateway at once, answered only when
// all n arrived: the gateway's pool then holds n idle connections.
func (h *host) warm(t *testing.T, g *gatewaytest.Gateway, n int) {
	t.Helper()
	h.arrived, h.release = make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/warm", nil); st != 200 {
				t.Errorf("warm-up: %d %s", st, body)
			}
		}()
	}
	for range n {
		select {
		case <-h.arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("warm-up requests did not arrive")
		}
	}
	close(h.release)
	wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.conns) != n {
		t.Fatalf("warm-up left %d connections, want %d", len(h.conns), n)
	}
}

// restart stops the server and starts it again on the same port: the
// listener and every connection are closed (each FIN acknowledged by the
// gateway's side before it returns).
func (h *host) restart(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	ln, conns := h.ln, h.conns
	h.conns = map[*hostConn]struct{}{}
	h.mu.Unlock()
	ln.Close()
	for c := range conns {
		c.CloseWrite() //nolint:errcheck // the FIN
		if err := upstream.WaitFINAcked(c.TCPConn); err != nil {
			t.Errorf("closing a connection: %v", err)
		}
		c.TCPConn.Close()
	}
	h.relisten(t)
}

// reboot forgets every connection silently and opens the port again.
func (h *host) reboot(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	ln := h.ln
	for c := range h.conns {
		c.lost.Store(true)
	}
	h.mu.Unlock()
	ln.Close()
	h.relisten(t)
}

func (h *host) relisten(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", h.addr, err)
	}
	h.serve(ln)
}

// restartUnderLoad runs n requests from 3 workers against a gateway whose
// only target holds 8 pooled connections, and calls bounce (restart or
// reboot) three times along the way. bounce runs while no request is in
// flight: with a single target, a request that arrives while the port is
// closed must fail, whatever the gateway does; what is tested is the
// traffic after the bounce, which meets the pool of dead connections.
func restartUnderLoad(t *testing.T, h *host, method string, body []byte, bounce func(*testing.T)) *load {
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "app"
targets = [{ url = "`+h.url()+`" }]
[[routes]]
upstream = "app"
`)
	h.warm(t, g, 8)
	const n = 600
	var gate sync.RWMutex
	l := startLoadSpec(t, g.URL+"/x", 3, n, loadSpec{method: method, body: body, gate: &gate, noWait: true})
	for i := range 3 {
		if !waitFor(10*time.Second, func() bool { return l.done() >= int64((i+1)*n/4) }) {
			t.Fatalf("the load stalled at %d requests", l.done())
		}
		gate.Lock()
		bounce(t)
		gate.Unlock()
	}
	l.wg.Wait()
	if l.done() != n {
		t.Fatalf("%d requests answered, want %d", l.done(), n)
	}
	return l
}

// TestUpstreamRestartUnderLoad: an upstream that restarts (every
// connection closed, the same port open again) costs no request: the
// pooled connections it closed are found dead and the requests go out on
// fresh ones, GETs and POSTs alike (a POST is never written on a
// connection the idle check sees closed).
func TestUpstreamRestartUnderLoad(t *testing.T) {
	if !upstream.TCPStateSupported {
		t.Skip("needs TCP_INFO to know when the upstream's close arrived")
	}
	for _, tc := range []struct {
		method string
		body   []byte
	}{{"GET", nil}, {"POST", []byte(`{"amount":100}`)}} {
		t.Run(tc.method, func(t *testing.T) {
			h := startHost(t)
			l := restartUnderLoad(t, h, tc.method, tc.body, h.restart)
			if n := l.failed.Load(); n != 0 {
				t.Fatalf("%d of %d requests failed across 3 upstream restarts, want 0; first: %s", n, l.done(), *l.firstErr.Load())
			}
			if got := h.hits.Load(); got < l.done() {
				t.Fatalf("the upstream answered %d requests, want at least %d", got, l.done())
			}
		})
	}
}

// TestUpstreamRebootUnderLoad: after a reboot of the upstream's host its
// old connections look open to the gateway until a request meets the
// reset; the idle check cannot see it coming. The first dead connection
// found must condemn the rest of the target's idle pool: a GET is sent
// again on a fresh connection, not on another pooled one that is just as
// dead, and the requests after it start on fresh connections too.
func TestUpstreamRebootUnderLoad(t *testing.T) {
	h := startHost(t)
	l := restartUnderLoad(t, h, "GET", nil, h.reboot)
	if n := l.failed.Load(); n != 0 {
		t.Fatalf("%d of %d GETs failed across 3 upstream reboots, want 0; first: %s", n, l.done(), *l.firstErr.Load())
	}
}

// TestKilledTargetCostsNoErrors: with the default configuration, a
// target killed under steady traffic costs the clients nothing: the
// connections to it that cannot be made are tried again on another
// target (retries.connect_attempts, on by default) until the target is
// ejected, and after.
func TestKilledTargetCostsNoErrors(t *testing.T) {
	a, b, c := startServer(t, "a"), startServer(t, "b"), startServer(t, "c")
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "pool"
targets = [{ url = "`+a.url()+`" }, { url = "`+b.url()+`" }, { url = "`+c.url()+`" }]
[[routes]]
upstream = "pool"
`)
	l := startLoad(t, g.URL+"/x", 4, 20000)
	if !waitFor(5*time.Second, func() bool { return b.hits.Load() > 20 }) {
		t.Fatal("no traffic reached b")
	}
	b.stop()
	before := a.hits.Load() + c.hits.Load()
	if !waitFor(10*time.Second, func() bool { return a.hits.Load()+c.hits.Load() > before+300 }) {
		t.Fatal("traffic did not go on to a and c")
	}
	l.finish()
	st := targetState(t, g, b.url())
	t.Logf("requests: %d ok, %d failed; killed target: state %s, failures %d", l.ok.Load(), l.failed.Load(), st.State, st.Failures)
	if st.Failures == 0 {
		t.Fatal("the killed target was never tried: the test proves nothing")
	}
	if n := l.failed.Load(); n != 0 {
		t.Fatalf("%d client requests failed after a target was killed, want 0; first: %s", n, *l.firstErr.Load())
	}
}

// TestRefusedConnectionRetriedForAnyMethod: a connection refused carried
// nothing, so even a POST goes to another target, once; the target that
// answers reads it exactly once. A route with retries = 0 (retries.attempts
// off) keeps these retries, and connect_attempts = 0 turns them off.
func TestRefusedConnectionRetriedForAnyMethod(t *testing.T) {
	dead := startServer(t, "dead")
	dead.stop()
	var mu sync.Mutex
	seen := map[string]int{}
	live := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		seen[string(ctx.Method())+" "+string(ctx.PostBody())]++
		mu.Unlock()
		ctx.SetBodyString("ok")
	})
	conf := func(extra string) string {
		return `
[[upstreams]]
name = "pool"
targets = [{ url = "` + dead.url() + `" }, { url = "` + live.URL + `" }]
[upstreams.outlier]
consecutive_failures = 0
` + extra + `
[[routes]]
upstream = "pool"
retries = 0
`
	}
	g := gatewaytest.Start(t, conf(""))
	for i := range 10 {
		body := []byte(`{"payment":` + strconv.Itoa(i) + `}`)
		for _, method := range []string{"POST", "PATCH"} {
			if st, got, _ := gatewaytest.Do(t, method, g.URL+"/pay", body); st != 200 || string(got) != "ok" {
				t.Fatalf("%s %d: got %d %s, want 200 from the live target", method, i, st, got)
			}
			mu.Lock()
			n := seen[method+" "+string(body)]
			mu.Unlock()
			if n != 1 {
				t.Fatalf("%s %d reached the live target %d times, want 1", method, i, n)
			}
		}
	}
	if st := targetState(t, g, dead.url()); st.Failures == 0 {
		t.Fatal("the dead target was never tried: the test proves nothing")
	}

	off := gatewaytest.Start(t, conf("[upstreams.retries]\nconnect_attempts = 0"))
	statuses := map[int]int{}
	for range 10 {
		st, _, _ := gatewaytest.Do(t, "POST", off.URL+"/pay", []byte("{}"))
		statuses[st]++
	}
	if statuses[502] != 5 || statuses[200] != 5 {
		t.Fatalf("with connect_attempts = 0: got %v, want the refused half as 502", statuses)
	}
}
