package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// A keep-alive connection that waits for its next request costs what
// fasthttp holds for it while it waits: the serving goroutine and its
// stack, the request context, the write buffer and a read buffer of
// max_header_size, which fasthttp never gives back while the connection
// lives when request bodies are streamed (StreamRequestBody), even with
// ReduceMemoryUsage. That is about 22 KB per idle connection.
//
// So the gateway parks a connection that has waited parkAfter for the
// first byte of a request: fasthttp's wait fails as if the client had
// gone (see conn.Read), fasthttp ends its serving loop and gives every
// buffer back to its pools, and its Close hands the connection to the
// parker instead of closing it. A parked connection holds no goroutine
// and no buffer: on Linux, one epoll set watches every parked socket (the
// set itself watched by the Go runtime's poller); on other Unix systems,
// one small goroutine per parked connection waits for it to become
// readable. When the client sends again, the connection is served anew
// (fasthttp.Server.ServeConn, on a new goroutine); when the deadline
// fasthttp had set for the wait passes (idle_timeout), it is closed, as
// fasthttp would have.
//
// A busy connection, whose next request comes within parkAfter, never
// parks: it keeps its buffers and pays two ConnState calls per request.
// The bytes of a request are never read while the connection waits to
// park: parking only starts where fasthttp's read of a request's first
// byte timed out, with nothing read and nothing buffered.

// parkAfter is how long a connection waits for a request's first byte
// before it parks (tests change it before a gateway starts). It is short
// enough that connections a crowd of mobile clients opens in a burst give
// their buffers back before many of them are held at once, and long
// enough that a client sending requests back to back (a load balancer's
// pool, a busy API client) never parks.
var parkAfter = 50 * time.Millisecond

// errParked fails fasthttp's wait for the first byte of a request when
// the connection parks. It is a net.ErrClosed, so fasthttp ends the
// connection's loop quietly: no error response, nothing logged.
var errParked = fmt.Errorf("connection parked while idle: %w", net.ErrClosed)

// The states of a connection (conn.state).
const (
	connServing int32 = iota // fasthttp serves it (or a hijack handler has it)
	connParking              // its wait timed out: fasthttp's next Close parks it
	connParked               // the parker watches it
	connClosed
)

// idleWait is a keep-alive connection's wait for the first byte of its
// next request, which fasthttp brackets between two ConnState calls:
// StateIdle and StateActive. Only the serving goroutine touches it. A new
// connection's wait for its first request is left as it was: one that
// sends nothing gets 408 at read_timeout.
type idleWait struct {
	waiting  bool      // fasthttp waits for the first byte of a request
	short    bool      // the socket's read deadline is parkAfter, not deadline
	deadline time.Time // the read deadline fasthttp set for the wait
}

// SetReadDeadline implements net.Conn. While fasthttp waits for a
// request's first byte, the deadline it sets is kept and the socket's is
// brought forward to parkAfter into the wait, when the connection parks.
// fasthttp sets that deadline to the idle timeout from now: the earlier
// one is found from it, without reading the clock again. fasthttp sets
// the deadline of the request itself once its first byte has come.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.wait.waiting && !t.IsZero() && c.p != nil && c.srv != nil {
		if idle, after := idleTimeout(c.srv), c.p.after; idle > after {
			c.wait.short, c.wait.deadline = true, t
			return c.Conn.SetReadDeadline(t.Add(after - idle))
		}
	}
	c.wait.short = false
	return c.Conn.SetReadDeadline(t)
}

// idleTimeout is the time fasthttp lets a keep-alive connection wait for
// its next request.
func idleTimeout(s *fasthttp.Server) time.Duration {
	if s.IdleTimeout != 0 {
		return s.IdleTimeout
	}
	return s.ReadTimeout
}

// readFailed is the error Read returns when the socket's read failed
// with err and nothing read: errParked when the wait for a request's
// first byte reached parkAfter and the connection is to park.
func (c *conn) readFailed(err error) error {
	if !c.wait.short || !isTimeout(err) || !time.Now().Before(c.wait.deadline) ||
		!c.state.CompareAndSwap(connServing, connParking) {
		return err
	}
	return errParked
}

// Close implements net.Conn. The Close fasthttp makes at the end of the
// serving loop that errParked ended parks the connection; every other
// Close closes it, and ends the write of a response a hijack handler
// wrote (see awaitWrite).
func (c *conn) Close() error {
	if c.state.CompareAndSwap(connParking, connParked) && c.p.park(c) {
		return nil
	}
	err := c.close()
	if c.endOnClose {
		c.writeEnded(time.Now(), false)
	}
	return err
}

// close closes the connection for good.
func (c *conn) close() error {
	switch c.state.Swap(connClosed) {
	case connClosed:
		return c.Conn.Close()
	case connParked:
		c.p.forget(c)
	}
	if c.open != nil {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// socket returns the connection's TCP socket, under TLS if any, or nil
// when it has none (a connection that cannot park).
func (c *conn) socket() syscall.RawConn {
	nc := c.Conn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// parker holds the parked connections of a gateway, and serves each
// again when its client sends.
type parker struct {
	after     time.Duration // parkAfter
	usePoller bool

	mu     sync.Mutex
	closed bool
	conns  map[uint32]*conn // parked, by park ID
	nextID uint32
	poll   poller // nil: one goroutine waits for each parked connection
	tried  bool   // poll was made (or failed to be)
	// serving counts the woken connections handed to ServeConn, so that
	// Shutdown can wait for one woken as the servers stopped.
	serving sync.WaitGroup
	// parkCount counts the parks so far (memory.go: a burst of them
	// leaves garbage to give back).
	parkCount atomic.Uint64
}

// poller watches parked sockets for readability (epoll on Linux).
type poller interface {
	// add watches fd for one event, reported with id; again says that fd
	// was added before (for an earlier park of the same connection).
	add(fd int, id uint32, again bool) error
	// close stops the watch. It waits for the events being reported:
	// the caller must not hold parker.mu.
	close()
}

// usePoller says whether a parker may use an OS poller; tests turn it off
// to run the portable wait.
var usePoller = true

func newParker() *parker {
	return &parker{after: parkAfter, usePoller: usePoller, conns: make(map[uint32]*conn)}
}

// park takes c, which fasthttp has stopped serving, and watches it. It
// returns false when c cannot park (the gateway is stopping, or c has no
// socket to watch): the caller closes it.
func (p *parker) park(c *conn) bool {
	if p == nil {
		return false
	}
	rc := c.socket()
	if rc == nil {
		return false
	}
	fd := -1
	if rc.Control(func(s uintptr) { fd = int(s) }) != nil || fd < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if !p.tried && p.usePoller {
		p.tried = true
		p.poll = newPoller(p.woke)
	}
	id := p.newID()
	if p.poll == nil {
		if !canWait {
			return false
		}
		p.conns[id], c.parkID = c, id
		p.parkCount.Add(1)
		go p.await(c, id, rc)
		return true
	}
	// Added with the lock held: an event for id waits for the connection
	// to be in conns, and close, which sets closed first, stops the poller
	// after.
	if p.poll.add(fd, id, c.polled) != nil {
		return false
	}
	c.polled = true
	p.conns[id], c.parkID = c, id
	p.parkCount.Add(1)
	// The poller has no deadlines: a timer closes the connection at the
	// one fasthttp set for the wait.
	d := time.Until(c.wait.deadline)
	if c.expiry == nil {
		c.expiry = time.AfterFunc(d, func() { p.expire(c) })
	} else {
		c.expiry.Reset(d)
	}
	return true
}

// parks returns how many times connections were parked so far.
func (p *parker) parks() uint64 {
	if p == nil {
		return 0
	}
	return p.parkCount.Load()
}

// parked returns how many connections are parked.
func (p *parker) parked() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// newID returns a park ID not in use; 0 is never one. Called with mu held.
func (p *parker) newID() uint32 {
	for {
		p.nextID++
		if _, used := p.conns[p.nextID]; p.nextID != 0 && !used {
			return p.nextID
		}
	}
}

// unpark removes the connection parked under id and returns it, nil if
// none is (any more).
func (p *parker) unpark(id uint32) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.conns[id]
	if c == nil {
		return nil
	}
	delete(p.conns, id)
	c.parkID = 0
	return c
}

// forget removes c from the parked connections if it is one.
func (p *parker) forget(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.parkID == 0 {
		return
	}
	delete(p.conns, c.parkID)
	c.parkID = 0
	if c.expiry != nil {
		c.expiry.Stop()
	}
}

// woke is called when the socket parked under id can be read (a request,
// or the client closing): the connection is served again.
func (p *parker) woke(id uint32) {
	p.mu.Lock()
	c := p.conns[id]
	if c == nil {
		p.mu.Unlock()
		return
	}
	delete(p.conns, id)
	c.parkID = 0
	p.serving.Add(1)
	p.mu.Unlock()
	if c.expiry != nil {
		c.expiry.Stop()
	}
	go p.serve(c)
}

// serve serves a woken connection until it ends or parks again. Its first
// byte is there: the wait for it is over, and so is its deadline, which
// fasthttp sets again as for a new connection (read_timeout).
func (p *parker) serve(c *conn) {
	defer p.serving.Done()
	c.wait = idleWait{}
	c.state.Store(connServing)
	c.Conn.SetReadDeadline(time.Time{}) //nolint:errcheck // a closed connection fails its next read
	c.srv.ServeConn(c.self)             //nolint:errcheck // fasthttp answers what it could not read; the rest is the client's
}

// expire closes a parked connection whose wait reached the deadline
// fasthttp had set (idle_timeout). A timer of an earlier park, which
// fired as the connection woke, finds it serving or parked again with a
// later deadline, and leaves it.
func (p *parker) expire(c *conn) {
	p.mu.Lock()
	id := c.parkID
	if id == 0 || time.Now().Before(c.wait.deadline) {
		p.mu.Unlock()
		return
	}
	delete(p.conns, id)
	c.parkID = 0
	p.mu.Unlock()
	c.close()
}

// await is the portable wait of a parked connection: a goroutine blocked
// until the socket can be read (without reading it), or the deadline.
func (p *parker) await(c *conn, id uint32, rc syscall.RawConn) {
	c.Conn.SetReadDeadline(c.wait.deadline) //nolint:errcheck // the wait below fails on a closed socket
	// RawConn.Read waits for readability each time the function returns
	// false; it must look at the socket itself first, as a read would:
	// bytes that came before the wait began wake nothing.
	err := rc.Read(readable)
	if err == nil {
		p.woke(id)
		return
	}
	if p.unpark(id) != nil {
		c.close()
	}
}

// close closes every parked connection and stops parking: a connection
// fasthttp stops serving from now on is closed.
func (p *parker) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	poll := p.poll
	for _, c := range conns {
		c.parkID = 0
		if c.expiry != nil {
			c.expiry.Stop()
		}
	}
	p.mu.Unlock()
	if poll != nil {
		poll.close() // without mu: it waits for the events being reported, which take it
	}
	for _, c := range conns {
		c.close()
	}
}

// wait waits until the connections woken before close are served, or
// until done is closed.
func (p *parker) wait(done <-chan struct{}) {
	if p == nil {
		return
	}
	ended := make(chan struct{})
	go func() {
		p.serving.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-done:
	}
}

// connLimit counts the open client connections, parked ones included,
// for max_connections (fasthttp's Concurrency counts only the ones it
// serves).
type connLimit struct {
	open atomic.Int64
	max  int64
}

// admit counts a new connection and reports whether it is within the
// limit; one that is not must be rejected (and not counted).
func (l *connLimit) admit() bool {
	if l.open.Add(1) <= l.max {
		return true
	}
	l.open.Add(-1)
	return false
}

// rejectConn answers a connection over max_connections with 503 (as
// fasthttp would) and closes it. A TLS connection is closed without an
// answer: writing would wait for its handshake.
func rejectConn(c net.Conn) {
	if _, ok := c.(*tls.Conn); !ok {
		c.SetWriteDeadline(time.Now().Add(time.Second)) //nolint:errcheck // best effort
		c.Write(overLimit)                              //nolint:errcheck // best effort
	}
	c.Close()
}

// overLimit is the answer to a connection over max_connections, in the
// gateway's error format.
var overLimit = func() []byte {
	body := `{"error":"too many open connections","status":503}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()
