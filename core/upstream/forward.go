package upstream

import (
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

var (
	errNoTarget    = &plugin.Error{Status: 503, Message: "no upstream target available"}
	msgUnreachable = "upstream unreachable"
	msgTimeout     = "upstream timed out"
	msgBadResponse = "bad response from upstream"
)

// tryError is the failure of one try, with what it means for retries.
type tryError struct {
	status  int   // what the client sees: 502, 504, 413
	sent    bool  // the request may have reached the target
	connect bool  // the try ended on a connection that could not be made
	retry   bool  // another target may be tried (given the method)
	err     error // the cause, logged
}

func (e *tryError) Error() string { return e.err.Error() }
func (e *tryError) Unwrap() error { return e.err }

func (e *tryError) chainError() *plugin.Error {
	msg := msgUnreachable
	switch e.status {
	case 504:
		msg = msgTimeout
	case 413:
		msg = "request body too large"
	case 400:
		msg = "malformed request body"
	}
	if errors.Is(e.err, fasthttp.ErrBodyTooLarge) || errors.Is(e.err, errBadResponse) {
		msg = msgBadResponse
	}
	return &plugin.Error{Status: e.status, Message: msg, Err: e.err}
}

var errBadResponse = errors.New("malformed response from upstream")

// options are the settings of one request's upstream call: the upstream's,
// with the route's overrides.
type options struct {
	timeout        time.Duration
	connectTimeout time.Duration
	deadline       time.Duration
	retries        int // after timeouts, resets and retried statuses
	connectRetries int // after a connection that could not be made
	anyMethod      bool
	websocket      bool
	preserveHost   bool // send the client's Host (it sent one, and the route says so)
}

func (u *Upstream) options(r *reqctx.Route) options {
	o := options{timeout: u.timeout, connectTimeout: u.connectTimeout, deadline: u.deadline,
		retries: u.cfg.Retries.Attempts, connectRetries: u.cfg.Retries.ConnectAttempts}
	if r == nil {
		return o
	}
	p := &r.Proxy
	if p.Timeout > 0 {
		o.timeout = p.Timeout
	}
	if p.ConnectTimeout > 0 {
		o.connectTimeout = p.ConnectTimeout
	}
	if p.Deadline > 0 {
		o.deadline = p.Deadline
	}
	switch {
	case p.Retries > 0:
		o.retries = p.Retries
	case p.Retries < 0:
		o.retries = 0
	}
	o.anyMethod = p.RetryNonIdempotent
	o.websocket = p.WebSocket
	o.preserveHost = p.PreserveHost
	return o
}

func idempotent(h *fasthttp.RequestHeader) bool {
	return h.IsGet() || h.IsHead() || h.IsPut() || h.IsDelete() || h.IsOptions() || h.IsTrace()
}

// Forward sends c.Request to a target picked by the balancer and stores the
// answer in c.Response, retrying on another target when the upstream's
// and the route's settings allow it: after a connection that could not
// be made, up to retries.connect_attempts times, for any method when
// nothing was sent; after other failures and retried statuses, up to
// retries.attempts times, for requests that may be repeated. Retries
// stay within the retry budget.
//
// The request goes out as HTTP/1.1 whatever the client's version (RFC
// 9110 §2.5: an intermediary sends its own version); see forward10.
func (u *Upstream) Forward(c *reqctx.Context) error {
	if !c.Request.Header.IsHTTP11() {
		return u.forward10(c)
	}
	return u.forward(c)
}

func (u *Upstream) forward(c *reqctx.Context) error {
	o := u.options(c.Route())
	req := c.Request
	o.preserveHost = o.preserveHost && len(req.Header.Host()) > 0
	closeAfter := req.Header.ConnectionClose()
	wsUpgrade := o.websocket && isWebSocket(&req.Header)
	prepareRequest(c)
	if wsUpgrade {
		restoreUpgrade(&req.Header)
	}
	start := time.Now()
	if url := c.Target(); url != "" {
		t, err := u.adhocTarget(url)
		if err != nil {
			return &plugin.Error{Status: 502, Message: "invalid target", Err: err}
		}
		end := start.Add(o.timeout)
		if o.deadline > 0 && o.deadline < o.timeout {
			end = start.Add(o.deadline)
		}
		return u.finish(c, t, closeAfter, u.forwardTo(c, t, o, wsUpgrade, start, end))
	}

	now := start.UnixNano()
	var end time.Time
	if o.deadline > 0 {
		end = start.Add(o.deadline)
	}
	u.budget.request(now)
	streamed := req.IsBodyStream()
	// Retries after a try that may have reached its target: idempotent
	// methods only, unless the route says otherwise.
	repeatable := o.anyMethod || idempotent(&req.Header)
	sentRetries := 0
	if !wsUpgrade && repeatable {
		sentRetries = o.retries
	}
	var tried uint64
	var last *Target
	var lastErr error
	for try := 0; ; try++ {
		f := Filter{Now: now, Tried: tried}
		t := u.balancer.Pick(c, f)
		if t == nil && !u.anyUp(now) {
			if u.failFast {
				if try == 0 {
					return u.unavailable(c, now)
				}
			} else {
				f.AnyHealth = true
				t = u.balancer.Pick(c, f)
			}
		}
		if t == nil {
			if try == 0 {
				return errNoTarget
			}
			break
		}
		tried |= t.bit
		last = t
		if try > 0 && u.retries != nil {
			u.retries.Inc()
		}
		tryStart := start
		if try > 0 {
			tryStart = time.Now()
		}
		tryEnd := tryStart.Add(o.timeout)
		if !end.IsZero() {
			if !tryStart.Before(end) {
				lastErr = &tryError{status: 504, err: fasthttp.ErrTimeout}
				break
			}
			if end.Before(tryEnd) {
				tryEnd = end
			}
		}
		err := u.forwardTo(c, t, o, wsUpgrade, tryStart, tryEnd)
		lastErr = err
		limit := sentRetries
		if err != nil {
			te, ok := err.(*tryError)
			if !ok || !te.retry || te.sent && streamed {
				break
			}
			if te.connect && (!te.sent || repeatable) {
				// No connection could be made: the request goes to
				// another target, whatever its method when nothing was
				// sent (as nginx does with proxy_next_upstream error
				// timeout); after a keep-alive replay, only when it
				// may be repeated.
				limit = max(limit, o.connectRetries)
			}
		} else if !u.retryStatus.has(c.Response.StatusCode()) {
			break
		}
		if try >= limit || !u.budget.allowRetry(time.Now().UnixNano()) {
			break
		}
		if err == nil {
			if streamed {
				break // the body went up with the first try
			}
			// Drop the failed response (a streamed one closes its connection).
			c.Response.ResetBody()
		}
		now = time.Now().UnixNano()
	}
	return u.finish(c, last, closeAfter, lastErr)
}

// finish turns the last try's outcome into the client's response.
func (u *Upstream) finish(c *reqctx.Context, t *Target, closeAfter bool, err error) error {
	if closeAfter {
		c.Response.SetConnectionClose()
	}
	if err != nil {
		if te, ok := err.(*tryError); ok {
			return te.chainError()
		}
		return err
	}
	if c.Response.StatusCode() != fasthttp.StatusSwitchingProtocols {
		cleanResponse(&c.Response.Header, closeAfter)
	}
	if !c.Response.Header.IsHTTP11() {
		// The client gets the gateway's version, not the target's.
		c.Response.Header.SetProtocol(http11)
	}
	if u.responder != nil && t != nil {
		u.responder.Picked(c, t)
	}
	return nil
}

// forwardTo makes one try on t, started at start and bounded by end,
// recording the outcome in t's state.
func (u *Upstream) forwardTo(c *reqctx.Context, t *Target, o options, ws bool, start, end time.Time) error {
	setTarget(c, t, o.preserveHost)
	t.active.Add(1)
	t.requests.Add(1)
	if t.m != nil {
		t.m.Requests.Inc()
	}
	var err error
	var streaming bool
	if ws {
		err = u.websocket(c, t, o, end)
	} else {
		streaming, err = u.roundTrip(c, t, o, end)
	}
	now := time.Now()
	if !streaming {
		t.active.Add(-1)
	}
	if err != nil {
		u.failed(t, now.UnixNano(), err)
		return err
	}
	t.observe(now.Sub(start), now.UnixNano())
	if u.outlierStatus.has(c.Response.StatusCode()) {
		u.failed(t, now.UnixNano(), nil)
	} else if t.consecutive.Load() != 0 {
		// Only write when there is something to reset: every request
		// writing the shared counter would bounce its cache line.
		t.consecutive.Store(0)
	}
	return nil
}

// anyUp reports whether any target may be picked at now.
func (u *Upstream) anyUp(now int64) bool {
	for _, t := range u.targets {
		if t.Up(now) {
			return true
		}
	}
	return false
}

// unavailable answers 503 with Retry-After: the time until the first
// ejected target returns, or one health check interval.
func (u *Upstream) unavailable(c *reqctx.Context, now int64) error {
	wait := int64(0)
	for _, t := range u.targets {
		if until := t.ejectedUntil.Load(); until > now && !t.activeDown.Load() {
			if d := until - now; wait == 0 || d < wait {
				wait = d
			}
		}
	}
	if wait == 0 {
		wait = int64(u.cfg.Health.Interval.Std())
	}
	secs := max(1, (wait+int64(time.Second)-1)/int64(time.Second))
	var buf [20]byte
	c.Error(503, "no healthy upstream target")
	c.Response.Header.SetBytesV("Retry-After", strconv.AppendInt(buf[:0], secs, 10))
	return nil
}

// failed records a failed try on t (err nil: a failure status) and ejects
// t after outlier.consecutive_failures in a row, for a cool-down that
// doubles with each ejection in a row.
func (u *Upstream) failed(t *Target, now int64, err error) {
	t.failures.Add(1)
	if t.m != nil {
		t.m.Failures.Inc()
	}
	if err != nil {
		s := err.Error()
		t.lastError.Store(&s)
	}
	n := u.cfg.Outlier.ConsecutiveFailures
	if n <= 0 {
		return
	}
	if int(t.consecutive.Add(1)) < n {
		return
	}
	old := t.ejectedUntil.Load()
	if old > now {
		return // already out
	}
	k := t.ejections.Load()
	if now-t.lastEjectEnd.Load() > int64(u.cfg.Outlier.MaxEjection) {
		k = 0
	}
	cool := u.cfg.Outlier.BaseEjection.Std()
	for i := int32(0); i < k && cool < u.cfg.Outlier.MaxEjection.Std(); i++ {
		cool *= 2
	}
	cool = min(cool, u.cfg.Outlier.MaxEjection.Std())
	until := now + int64(cool)
	if t.ejectedUntil.CompareAndSwap(old, until) {
		t.ejections.Store(k + 1)
		if t.m != nil {
			t.m.Ejections.Inc()
		}
		t.lastEjectEnd.Store(until)
		t.consecutive.Store(0)
	}
}

// connectFailed is classify for a connection that could not be made
// (refused, timed out, TLS handshake failed, no free connection).
func connectFailed(err error, sent bool) *tryError {
	te := classify(err, sent)
	te.connect = true
	return te
}

// classify maps a failure of a try to the status the client sees.
func classify(err error, sent bool) *tryError {
	te := &tryError{status: 502, sent: sent, retry: true, err: err}
	var netErr net.Error
	switch {
	case errors.Is(err, errRequestTooLarge):
		te.status, te.retry = 413, false
	case errors.Is(err, ErrMalformedRequestBody):
		te.status, te.retry = 400, false
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrTLSHandshakeTimeout):
		te.status = 504
	case errors.As(err, &netErr) && netErr.Timeout():
		te.status = 504
	case errors.Is(err, fasthttp.ErrBodyTooLarge), errors.Is(err, errBadResponse), errors.Is(err, errNoHijack):
		te.retry = false
	}
	return te
}

// staleConn reports whether err is how a kept-alive connection that the
// server had closed fails: nothing at all came back.
func staleConn(err error) bool {
	return errors.Is(err, errNothingRead) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, fasthttp.ErrConnectionClosed)
}

var errNothingRead = errors.New("connection closed before the response")

// budget caps retries at pct percent of the requests of the last ten
// seconds, plus minPerSec per second. Counters live in ten one-second
// buckets of atomics: no lock on the request path.
type budget struct {
	pct, minPerSec int64
	buckets        [10]bucket
}

type bucket struct {
	sec     atomic.Int64
	reqs    atomic.Int64
	retries atomic.Int64
}

func (b *budget) bucket(sec int64) *bucket {
	bk := &b.buckets[sec%int64(len(b.buckets))]
	if old := bk.sec.Load(); old != sec && bk.sec.CompareAndSwap(old, sec) {
		bk.reqs.Store(0)
		bk.retries.Store(0)
	}
	return bk
}

func (b *budget) request(now int64) {
	b.bucket(now / int64(time.Second)).reqs.Add(1)
}

// allowRetry reports whether one more retry fits, and counts it if so.
func (b *budget) allowRetry(now int64) bool {
	sec := now / int64(time.Second)
	var reqs, retries int64
	for i := range b.buckets {
		bk := &b.buckets[i]
		if s := bk.sec.Load(); s > sec-int64(len(b.buckets)) && s <= sec {
			reqs += bk.reqs.Load()
			retries += bk.retries.Load()
		}
	}
	if retries >= b.minPerSec*int64(len(b.buckets))+reqs*b.pct/100 {
		return false
	}
	b.bucket(sec).retries.Add(1)
	return true
}
