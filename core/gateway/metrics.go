package gateway

import (
	"io"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/moongate/moongate/core/admin"
	"github.com/moongate/moongate/core/internal/chain"
	"github.com/moongate/moongate/core/internal/metric"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/upstream"
	"github.com/valyala/fasthttp"
)

// The gateway's metrics (docs/observability.md#metrics): one registry
// per gateway, series made when a runtime is built and kept by it, so
// that a request updates counters it already holds, with no lookup and
// no allocation. The series of what a reload keeps (routes, upstreams,
// targets, steps) go on counting; those of what it removes go away.

// meter is the gateway's side of its metrics: the registry GET /metrics
// writes, and the gateway's own series. nil when [metrics] is off.
type meter struct {
	reg           *metric.Registry
	reloadsOK     *vm.Counter
	reloadsFailed *vm.Counter
	lastSuccess   atomic.Int64 // unix nanoseconds of the last configuration loaded
}

// newMeter makes the registry of g, with what is read from g's state at
// scrape time.
func newMeter(g *Gateway) *meter {
	m := &meter{reg: metric.NewRegistry()}
	m.reloadsOK = m.reg.Counter(metric.Reloads, "result", "ok")
	m.reloadsFailed = m.reg.Counter(metric.Reloads, "result", "failed")
	m.lastSuccess.Store(time.Now().UnixNano())
	m.reg.AddWriter(func(w io.Writer) { g.writeState(w) })
	return m
}

// writeState writes the series read from the gateway's state: the
// configuration in service, its targets, connections, the shared cache.
func (g *Gateway) writeState(w io.Writer) {
	rt := g.Runtime()
	open := int64(g.park.parked()) // fasthttp counts only those it serves
	for _, s := range g.servers {
		open += int64(s.GetOpenConnectionsCount())
	}
	gauge := func(family string, v float64, labels ...string) {
		metric.WriteFamily(w, family, metric.Gauge)
		metric.WriteValue(w, metric.MustName(family, labels...), v)
	}
	gauge(metric.OpenConnections, float64(open))
	gauge(metric.InflightRequests, float64(g.inFlight()))
	st := g.cache.Stats()
	gauge(metric.CacheBytes, float64(st.Bytes))
	gauge(metric.CacheEntries, float64(st.Entries))
	metric.WriteFamily(w, metric.LogDropped, metric.Counter)
	metric.WriteValue(w, metric.LogDropped, float64(chain.LogDropped()))
	gauge(metric.ReloadLastSuccess, float64(g.meter.lastSuccess.Load())/1e9)
	gauge(metric.ConfigInfo, 1, "hash", rt.Config.Hash)

	ups := make([]*upstream.Upstream, 0, len(rt.upstreams))
	for _, u := range rt.upstreams {
		ups = append(ups, u)
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].Name() < ups[j].Name() })
	now := time.Now().UnixNano()
	for _, family := range []string{metric.UpstreamTargetHealthy, metric.UpstreamActive} {
		if len(ups) > 0 {
			metric.WriteFamily(w, family, metric.Gauge)
		}
		for _, u := range ups {
			for _, t := range u.Targets() {
				v := float64(t.Active())
				if family == metric.UpstreamTargetHealthy {
					v = 0
					if t.Up(now) {
						v = 1
					}
				}
				metric.WriteValue(w, metric.MustName(family, "upstream", u.Name(), "target", t.URL), v)
			}
		}
	}
}

// inFlight returns the requests being served, on every runtime: the one
// in service and those a reload replaced that are still draining.
func (g *Gateway) inFlight() int64 {
	n := g.Runtime().InFlight()
	g.retiredMu.Lock()
	for _, rt := range g.retired {
		n += rt.InFlight()
	}
	g.retiredMu.Unlock()
	return n
}

// reloaded counts a reload by its result.
func (m *meter) reloaded(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.reloadsOK.Inc()
		m.lastSuccess.Store(time.Now().UnixNano())
	} else {
		m.reloadsFailed.Inc()
	}
}

// registry returns the registry, nil when metrics are off.
func (m *meter) registry() *metric.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// serveMetrics answers GET /metrics on the admin API.
func (g *Gateway) serveMetrics(ctx *fasthttp.RequestCtx) {
	ctx.SetStatusCode(200)
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	g.meter.reg.WritePrometheus(ctx)
}

// registerMetrics adds GET /metrics to the admin API, when metrics are on.
func (g *Gateway) registerMetrics(a *admin.Server) {
	if g.meter != nil {
		a.Handle("GET", "/metrics", g.serveMetrics)
	}
}

// runtimeMetrics are the series a runtime counts into.
type runtimeMetrics struct {
	build *metric.Build
	// routes are the routes' series, by route index; unmatched is for
	// the requests no route took (404, 405, refused before routing).
	routes    []*routeMetrics
	unmatched *routeMetrics
}

// newRuntimeMetrics makes the series of rt's routes, upstreams and
// steps' refusals in build b; nil when b is (metrics are off). Problems
// of names are the gateway's own bugs: they panic.
func newRuntimeMetrics(b *metric.Build, rt *Runtime) *runtimeMetrics {
	if b == nil {
		return nil
	}
	rm := &runtimeMetrics{build: b, unmatched: newRouteMetrics(b, "")}
	for _, r := range rt.routes {
		rm.routes = append(rm.routes, newRouteMetrics(b, r.Name))
	}
	for _, u := range rt.upstreams {
		um := &upstream.Metrics{Retries: must(b.Counter(metric.UpstreamRetries, "upstream", u.Name()))}
		for _, t := range u.Targets() {
			labels := []string{"upstream", u.Name(), "target", t.URL}
			um.Targets = append(um.Targets, upstream.TargetMetrics{
				Requests:  must(b.Counter(metric.UpstreamRequests, labels...)),
				Failures:  must(b.Counter(metric.UpstreamFailures, labels...)),
				Ejections: must(b.Counter(metric.UpstreamEjections, labels...)),
			})
		}
		u.SetMetrics(um)
	}
	return rm
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// commit records that the runtime serves: the series no longer in its
// configuration go.
func (rm *runtimeMetrics) commit() {
	if rm != nil {
		rm.build.Commit()
	}
}

// abort drops the series made for a runtime that will not serve.
func (rm *runtimeMetrics) abort() {
	if rm != nil {
		rm.build.Abort()
	}
}

// route returns the series of c's route, or those of unmatched requests.
func (rm *runtimeMetrics) route(c *reqctx.Context) *routeMetrics {
	if r := c.Route(); r != nil && r.Index >= 0 && r.Index < len(rm.routes) {
		return rm.routes[r.Index]
	}
	return rm.unmatched
}

// handled counts a request whose handler returned, as fc is about to
// be written: its status, method, request body and upstream time now;
// its duration and response bytes once the write ends (see
// pendingMetrics), so that they include the write. Without a gateway
// connection (a RequestCtx built by hand), the write counts as done now.
func (rm *runtimeMetrics) handled(fc *fasthttp.RequestCtx, c *reqctx.Context) {
	if rm == nil {
		return
	}
	m := rm.route(c)
	m.count(c.Request.Header.Method(), c.Response.StatusCode())
	if n := requestBodySize(c.Request); n > 0 {
		m.bytesIn.Add(n)
	}
	up := c.UpstreamTime()
	if up > 0 {
		m.upstream.Update(up.Seconds())
	}
	if cc := connOf(fc.Conn()); cc != nil {
		cc.awaitMetrics(m, c.Start(), up, &fc.Request, &fc.Response)
		return
	}
	var s respScan
	s.start(&fc.Request, &fc.Response)
	m.written(time.Now(), c.Start(), up, s.expect)
}

// written counts the end of a response's write: at end, with sent body
// bytes (negative: unknown, not counted).
func (m *routeMetrics) written(end, start time.Time, up time.Duration, sent int64) {
	total := end.Sub(start)
	m.duration.Update(total.Seconds())
	m.overhead.Update((total - up).Seconds())
	if sent > 0 {
		m.bytesOut.Add(int(sent))
	}
}

// pendingMetrics is a request whose response is being written, on its
// connection: its route's series, when it started, its upstream time,
// and its body's length, or (for a streamed body) a scan of what the
// connection writes of it.
type pendingMetrics struct {
	m      *routeMetrics
	start  time.Time
	up     time.Duration
	scan   respScan
	stream bool
}

// awaitMetrics parks the request's metrics on the connection until the
// write of resp ends (metricsEnded). A request still parked (pipelining:
// the next one was read before the connection went idle) ends now.
func (cc *conn) awaitMetrics(m *routeMetrics, start time.Time, up time.Duration, req *fasthttp.Request, resp *fasthttp.Response) {
	if cc.meter.m != nil {
		cc.metricsEnded(time.Now(), false)
	}
	p := &cc.meter
	p.m, p.start, p.up = m, start, up
	p.scan.start(req, resp)
	p.stream = resp.IsBodyStream() && !p.scan.noBody
	if !p.stream {
		p.scan.state = scanIdle // the length is known: nothing to follow
	}
	cc.tracking = cc.tracking || p.scan.active()
}

// metricsEnded counts the end of the write of the request parked on the
// connection: a buffered body counts whole, a streamed one as far as the
// connection wrote it. A hijacked connection (a WebSocket, an HTTP/1.0
// close-delimited stream) is written by another goroutine from now on:
// its scan is left alone, and its body bytes are not counted. now is
// when the write ended.
func (cc *conn) metricsEnded(now time.Time, hijacked bool) {
	p := &cc.meter
	if p.m == nil {
		return
	}
	if hijacked {
		p.m.written(now, p.start, p.up, -1)
		p.m = nil
		return
	}
	sent := p.scan.expect
	if p.stream && p.scan.state != scanLost {
		sent = p.scan.body
	}
	p.m.written(now, p.start, p.up, sent)
	*p = pendingMetrics{}
}

// observeRefused counts a request fasthttp refused before the handler
// (a malformed head, headers or body too large): no route, no times.
func (rm *runtimeMetrics) observeRefused(fc *fasthttp.RequestCtx) {
	if rm == nil {
		return
	}
	rm.unmatched.count(fc.Request.Header.Method(), fc.Response.StatusCode())
}

// requestBodySize is the body a request had: read whole, or announced.
func requestBodySize(r *fasthttp.Request) int {
	if r.IsBodyStream() {
		return r.Header.ContentLength()
	}
	return len(r.Body())
}

// routeMetrics are one route's series. The requests' counters, by
// method and status, are made the first time each is needed.
type routeMetrics struct {
	name     string
	build    *metric.Build
	requests [len(methods) + 1]atomic.Pointer[statusCounters]

	duration, upstream, overhead *vm.PrometheusHistogram
	bytesIn, bytesOut            *vm.Counter
}

// statusCounters are a method's counters by status: 100 to 599, then
// one for the statuses outside.
type statusCounters [501]atomic.Pointer[vm.Counter]

// methods are the methods counted by name; any other is OTHER.
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}

// methodIndex returns m's index in methods, len(methods) for OTHER.
func methodIndex(m []byte) int {
	for i, name := range methods {
		if string(m) == name {
			return i
		}
	}
	return len(methods)
}

func newRouteMetrics(b *metric.Build, route string) *routeMetrics {
	m := &routeMetrics{name: route, build: b}
	m.duration = must(b.Histogram(metric.HTTPRequestDuration, metric.DurationBuckets, "route", route))
	m.upstream = must(b.Histogram(metric.UpstreamDuration, metric.DurationBuckets, "route", route))
	m.overhead = must(b.Histogram(metric.GatewayOverhead, metric.OverheadBuckets, "route", route))
	m.bytesIn = must(b.Counter(metric.HTTPRequestBytes, "route", route))
	m.bytesOut = must(b.Counter(metric.HTTPResponseBytes, "route", route))
	b.Claim(metric.HTTPRequests, "route:"+route)
	return m
}

// count adds a request answered with status to the route's counter of
// method and status, made the first time.
func (m *routeMetrics) count(method []byte, status int) {
	mi := methodIndex(method)
	sc := m.requests[mi].Load()
	if sc == nil {
		sc = new(statusCounters)
		if !m.requests[mi].CompareAndSwap(nil, sc) {
			sc = m.requests[mi].Load()
		}
	}
	si := status - 100
	if si < 0 || si >= len(sc)-1 {
		si = len(sc) - 1
	}
	ctr := sc[si].Load()
	if ctr == nil {
		ctr = m.makeCounter(mi, si)
		sc[si].Store(ctr)
	}
	ctr.Inc()
}

func (m *routeMetrics) makeCounter(mi, si int) *vm.Counter {
	method := "OTHER"
	if mi < len(methods) {
		method = methods[mi]
	}
	status := "other"
	if si < 500 {
		status = strconv.Itoa(si + 100)
	}
	return m.build.LazyCounter(metric.HTTPRequests, "route:"+m.name, "route", m.name, "method", method, "status", status)
}

// authObserver counts the requests a step refused with 401 or 403
// (moongate_auth_failures_total, by plugin): the chain's observer.
type authObserver struct{ b *metric.Build }

// Step implements chain.Observer.
func (o authObserver) Step(s chain.StepInfo) chain.StepObserver {
	o.b.Claim(metric.AuthFailures, "plugin:"+s.Name)
	return &authFailures{b: o.b, plugin: s.Name}
}

// authFailures counts one step's refusals; its series is made at the
// first.
type authFailures struct {
	b      *metric.Build
	plugin string
	c      atomic.Pointer[vm.Counter]
}

// Untimed implements chain.Untimed: counting refusals needs no clock.
func (a *authFailures) Untimed() bool { return true }

// PhaseDone implements chain.StepObserver.
func (a *authFailures) PhaseDone(c *chain.Context, p reqctx.Phase, _ time.Duration, o chain.Outcome) {
	if p != reqctx.PhaseRequest || o != chain.Refused && o != chain.Answered {
		return
	}
	if s := c.Response.StatusCode(); s != 401 && s != 403 {
		return
	}
	ctr := a.c.Load()
	if ctr == nil {
		ctr = a.b.LazyCounter(metric.AuthFailures, "plugin:"+a.plugin, "plugin", a.plugin)
		a.c.Store(ctr)
	}
	ctr.Inc()
}
