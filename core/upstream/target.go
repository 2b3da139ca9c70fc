package upstream

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/deadline"
	"github.com/valyala/fasthttp"
)

// Target is one server of an upstream, with its connection pool and the
// state the balancers and health checks share. Its counters are atomics:
// a Target is safe for concurrent use.
type Target struct {
	// URL is the target as configured, e.g. "http://10.0.0.5:8080".
	URL string
	// Addr is its host:port as configured.
	Addr string
	// Weight is its configured share of the traffic.
	Weight int
	// Client is its keep-alive connection pool. Requests do not go through
	// Client.Do: the upstream drives the connections itself (timeouts,
	// streaming); Client only pools them.
	Client *fasthttp.HostClient

	index     int    // position in the upstream's targets
	bit       uint64 // 1 << (index % 64), for Filter
	id        uint64 // stable identity (hash of URL), for sticky cookies
	host      []byte // Host header value sent upstream
	scheme    []byte // "http" or "https"
	isTLS     bool
	tlsConfig *tls.Config
	hostname  string // non-empty when the target is given by name (resolved)
	port      string

	addrs   atomic.Pointer[[]string] // resolved host:port list for hostname targets
	nextIP  atomic.Uint32
	resolve atomic.Pointer[resolveState]

	active       atomic.Int64  // requests in flight
	requests     atomic.Uint64 // tries sent
	failures     atomic.Uint64 // tries failed (errors and outlier statuses)
	consecutive  atomic.Int32  // failures in a row
	ejectedUntil atomic.Int64  // unix nanoseconds; 0 when not ejected
	ejections    atomic.Int32  // ejections in a row, for the growing cool-down
	lastEjectEnd atomic.Int64  // when the last ejection ended (unix ns)
	activeDown   atomic.Bool   // the active check says down
	ewmaBits     atomic.Uint64 // peak EWMA of latency, float64 nanoseconds
	ewmaStamp    atomic.Int64  // last EWMA update (unix ns)
	lastError    atomic.Pointer[string]

	m *TargetMetrics // nil without metrics
}

// resolveState is the outcome of the last resolution of a hostname target.
type resolveState struct {
	at  time.Time
	err string
}

// Up reports whether the target may be picked at now (unix ns): the active
// check has not taken it out and it is not ejected.
func (t *Target) Up(now int64) bool {
	return !t.activeDown.Load() && t.ejectedUntil.Load() <= now
}

// Active returns the requests in flight to the target.
func (t *Target) Active() int64 { return t.active.Load() }

// Latency returns the target's peak-EWMA latency.
func (t *Target) Latency() time.Duration {
	return time.Duration(math.Float64frombits(t.ewmaBits.Load()))
}

// ewmaDecay is the time constant of the latency average.
const ewmaDecay = float64(10 * time.Second)

// observe folds one latency into the peak EWMA: a slower sample is taken
// at once (the peak), faster ones are averaged in with a weight that grows
// with the time since the last sample.
func (t *Target) observe(rtt time.Duration, now int64) {
	x := float64(rtt)
	for {
		old := t.ewmaBits.Load()
		prev := math.Float64frombits(old)
		stamp := t.ewmaStamp.Load()
		var v float64
		if x > prev || old == 0 {
			v = x
		} else {
			elapsed := float64(max(now-stamp, 0))
			w := math.Exp(-elapsed / ewmaDecay)
			v = prev*w + x*(1-w)
		}
		if t.ewmaBits.CompareAndSwap(old, math.Float64bits(v)) {
			t.ewmaStamp.Store(now)
			return
		}
	}
}

// targetOptions are what building a target needs from its upstream.
type targetOptions struct {
	cfg       *config.Upstream
	tlsConfig *tls.Config // nil: build from the URL with defaults
}

func newTarget(tc config.Target, o targetOptions) (*Target, error) {
	if reason := config.CheckTargetURL(tc.URL); reason != "" {
		return nil, errors.New(reason)
	}
	x, err := url.Parse(tc.URL)
	if err != nil {
		return nil, err
	}
	isTLS := x.Scheme == "https"
	port := x.Port()
	if port == "" {
		port = "80"
		if isTLS {
			port = "443"
		}
	}
	addr := net.JoinHostPort(x.Hostname(), port)
	sum := sha256.Sum256([]byte(tc.URL))
	t := &Target{URL: tc.URL, Addr: addr, Weight: tc.Weight, host: []byte(x.Host), scheme: []byte(x.Scheme), isTLS: isTLS,
		port: port, id: binary.BigEndian.Uint64(sum[:8])}
	if _, err := netip.ParseAddr(x.Hostname()); err != nil {
		t.hostname = x.Hostname()
	}
	cfg := o.cfg
	if isTLS {
		tc := o.tlsConfig
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tc = tc.Clone()
		if tc.ServerName == "" {
			tc.ServerName = x.Hostname()
		}
		t.tlsConfig = tc
	}
	t.Client = &fasthttp.HostClient{
		Addr:      addr,
		Name:      "moongate",
		IsTLS:     isTLS,
		TLSConfig: t.tlsConfig,
		MaxConns:  cfg.MaxConnections,
		// A request finding max_connections in use waits for one to be
		// free, as long as it may wait to connect (roundTrip passes
		// connect_timeout, or what is left of the deadline, to
		// AcquireConn): failing at once turned a burst of clients beyond
		// max_connections into 502s (10 000 clients, the default 1 024:
		// 93% failed).
		MaxConnWaitTimeout:  time.Hour,
		MaxIdleConnDuration: cfg.IdleTimeout.Std(),
		MaxResponseBodySize: cfg.MaxResponseSize.Int(),
		ReadBufferSize:      16 << 10,
		WriteBufferSize:     16 << 10,
		DialTimeout:         t.dialTimeout,
	}
	return t, nil
}

// dialTimeout dials the target: its address, or for a target given by
// name, one of the addresses last resolved (each tried in turn).
func (t *Target) dialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if t.hostname == "" {
		return dialTracked(addr, timeout)
	}
	list := t.addrs.Load()
	if list == nil || len(*list) == 0 {
		return dialTracked(addr, timeout)
	}
	deadline := time.Now().Add(timeout)
	as := *list
	start := int(t.nextIP.Add(1))
	var err error
	for i := range as {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		var c net.Conn
		if c, err = dialTracked(as[(start+i)%len(as)], left); err == nil {
			return c, nil
		}
	}
	if err == nil {
		err = fasthttp.ErrDialTimeout
	}
	return nil, err
}

// trackedConn is a connection to a target with what the replay rules
// need to know about it: whether it has carried a whole exchange (a
// pooled, reused connection may have been closed by the target while
// idle), how many bytes the current try handed to the socket (none: the
// request provably did not reach the target), and a way to look at an
// idle connection for a close before writing on it.
type trackedConn struct {
	net.Conn
	used    bool
	written int64
	idle    idleCheck
	// lastWrite: the next Write carries the end of the request; it waits
	// for the reply after writing (see idleCheck.writeThenWait).
	lastWrite bool
	// The socket's deadlines, while both are the same: each try sets
	// both to its request's end, and the socket's timers move only when
	// their deadline no longer covers it (see SetDeadline).
	dl deadline.Lazy
}

// SetDeadline implements net.Conn. The deadlines are set a little later
// than t and left alone while later calls ask for no later than that
// (deadline.Lazy): a try's timeout fires up to 1/32 of itself late (at
// most a second), and requests in a row on a pooled connection save two
// timer updates each.
func (c *trackedConn) SetDeadline(t time.Time) error {
	return c.setDeadline(t, time.Until(t))
}

// setDeadline is SetDeadline for a t that is left from now.
func (c *trackedConn) setDeadline(t time.Time, left time.Duration) error {
	return c.dl.Update(t, left, c.Conn.SetDeadline)
}

// SetReadDeadline implements net.Conn (a stream's idle timeout): set as
// asked; the deadlines differ from then on, until SetDeadline.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	c.dl.Forget()
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline implements net.Conn: set as asked; the deadlines
// differ from then on, until SetDeadline.
func (c *trackedConn) SetWriteDeadline(t time.Time) error {
	c.dl.Forget()
	return c.Conn.SetWriteDeadline(t)
}

func dialTracked(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := fasthttp.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c}
	tc.idle.init(c)
	return tc, nil
}

// Write implements net.Conn, counting the bytes the socket accepted.
func (c *trackedConn) Write(p []byte) (int, error) {
	if c.lastWrite {
		c.lastWrite = false
		n := c.idle.writeThenWait(p)
		c.written += int64(n)
		if n == len(p) {
			return n, nil
		}
		// The rest the usual way, which reports a failure as a
		// net.Conn does (the socket returns its error again).
		m, err := c.Conn.Write(p[n:])
		c.written += int64(m)
		return n + m, err
	}
	n, err := c.Conn.Write(p)
	c.written += int64(n)
	return n, err
}

// tracked returns the trackedConn under c (which may be a *tls.Conn).
func tracked(c net.Conn) *trackedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tc, _ := c.(*trackedConn)
	return tc
}

// dialRaw opens a connection outside the pool (WebSocket), with TLS for
// https targets.
func (t *Target) dialRaw(ctx context.Context, timeout time.Duration) (net.Conn, error) {
	c, err := t.dialTimeout(t.Addr, timeout)
	if err != nil {
		return nil, err
	}
	if !t.isTLS {
		return c, nil
	}
	tc := tls.Client(c, t.tlsConfig)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}
