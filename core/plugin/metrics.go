package plugin

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/moongate/moongate/core/internal/metric"
)

// Metrics registers a step's own metrics, served with the gateway's on
// GET /metrics of the admin listener; get it from Spec.Metrics, in the
// factory. Each method makes a metric once, at load time: the step keeps
// what it returns and updates it per request, with no lookup and no
// allocation. A metric asked for again by the same name and labels is
// the same one: an instance rebuilt by a reload keeps counting where the
// previous one was, and the series of a step taken out of the
// configuration go away with the reload.
//
// Names are Prometheus names; start them with moongate_ and end
// counters in _total (moongate_cache_requests_total). Labels are name,
// value pairs whose values come from the configuration (a plugin's name,
// a route, a script path), never from requests: the number of series
// must not depend on what clients send (see CounterVec for values that
// do, bounded). A bad name, or a name already used by a metric of
// another kind, fails the build with a problem at the step; the metric
// returned then counts nothing.
//
// Every metric is safe for concurrent use. Metrics, and every metric,
// may be nil (no Env: a plugin built by hand in a test; metrics turned
// off with [metrics] enabled = false): they then count nothing.
// core/plugin/plugintest builds steps with metrics on, and
// Chain.Metrics shows what they counted.
type Metrics struct {
	b      *metric.Build
	route  string   // the step's route; "" for a global step
	routes []string // the configuration's routes, by index
}

// Metrics returns the registrar of the step's metrics; nil (which
// registers metrics that count nothing) when metrics are off.
func (s Spec) Metrics() *Metrics {
	if s.Env == nil || s.Env.Metrics == nil {
		return nil
	}
	m := &Metrics{b: s.Env.Metrics, route: s.Route}
	if s.Env.Config != nil {
		for i := range s.Env.Config.Routes {
			m.routes = append(m.routes, s.Env.Config.Routes[i].Name)
		}
	}
	return m
}

// note records a problem of the step's metrics, failing its build.
func (m *Metrics) note(err error) { m.b.Note(err) }

// reserved notes, and reports, that name is one of the gateway's own.
func (m *Metrics) reserved(name string) bool {
	if metric.Reserved(name) {
		m.note(errors.New("metric " + strconv.Quote(name) + " is the gateway's own"))
		return true
	}
	return false
}

// Counter returns the counter called name with labels (name, value
// pairs): one series.
func (m *Metrics) Counter(name string, labels ...string) *Counter {
	if m == nil || m.reserved(name) {
		return nil
	}
	c, err := m.b.Counter(name, labels...)
	if err != nil {
		m.note(err)
		return nil
	}
	return &Counter{c: c}
}

// Gauge returns the gauge called name with labels: one series, which
// the step sets.
func (m *Metrics) Gauge(name string, labels ...string) *Gauge {
	if m == nil || m.reserved(name) {
		return nil
	}
	g, err := m.b.Gauge(name, labels...)
	if err != nil {
		m.note(err)
		return nil
	}
	return &Gauge{g: g}
}

// Histogram returns the Prometheus histogram called name with labels,
// with buckets as its upper bounds (le; +Inf is implied), strictly
// increasing; seconds for a time (name ending in _seconds).
func (m *Metrics) Histogram(name string, buckets []float64, labels ...string) *Histogram {
	if m == nil || m.reserved(name) {
		return nil
	}
	h, err := m.b.Histogram(name, buckets, labels...)
	if err != nil {
		m.note(err)
		return nil
	}
	return &Histogram{h: h}
}

// CounterFunc makes the counter called name with labels count what
// count gains: a count the step already keeps (an atomic counter), read
// when /metrics is scraped and never per request, so that counting
// costs the request nothing more. The counter adds what count gained
// since it was last read; once a reload's new instance serves, the old
// instance's count is read a last time and the new one's is counted
// from the value it has then: the series keeps counting across reloads,
// whether the new instance starts from 0 or shares the count with the
// old one (a process-wide counter). count must be cheap (atomic loads)
// and safe for concurrent use.
func (m *Metrics) CounterFunc(name string, count func() float64, labels ...string) {
	if m == nil || m.reserved(name) {
		return
	}
	m.note(m.b.CounterFunc(name, count, labels...))
}

// GaugeFunc makes the gauge called name with labels take what value
// returns when /metrics is scraped (a state the step keeps: a queue's
// length, whether a connection is up). value must be cheap and safe for
// concurrent use.
func (m *Metrics) GaugeFunc(name string, value func() float64, labels ...string) {
	if m == nil || m.reserved(name) {
		return
	}
	m.note(m.b.GaugeFunc(name, value, labels...))
}

// RouteCounter returns a counter with one series per route that the
// step serves, each labelled route="<route name>" before labels: Inc(c)
// counts for c's route. A step of [[routes.plugins]] serves its route;
// a global step, every route that keeps it. A route's series appears
// the first time it counts.
func (m *Metrics) RouteCounter(name string, labels ...string) *RouteCounter {
	if m == nil || m.reserved(name) {
		return nil
	}
	if _, err := metric.Name(name, append([]string{"route", ""}, labels...)...); err != nil {
		m.note(err)
		return nil
	}
	rc := &RouteCounter{b: m.b, name: name, labels: labels, routes: m.routes,
		cells: make([]atomic.Pointer[vm.Counter], len(m.routes))}
	if m.route != "" {
		rc.only = m.route
	}
	for _, r := range m.routes {
		if m.route == "" || r == m.route {
			m.b.Claim(name, routeOwner(name, labels, r))
		}
	}
	return rc
}

// routeOwner is the claim of a RouteCounter's series for route r: its
// labels are part of it, so that two counters of one family with
// different labels keep their series apart.
func routeOwner(name string, labels []string, r string) string {
	n, _ := metric.Name(name, append([]string{"route", r}, labels...)...)
	return n
}

// CounterVec returns a family of counters called name, labelled with
// labels (name, value pairs, fixed) and then one value per name of
// varying, given at each Inc: for values known only at run time (a
// tenant, a key tier) that a step bounds. At most max series are made
// (per step and its rebuilds by reloads); past them, and for a value
// longer than 128 bytes or not valid UTF-8, Inc counts into the series
// whose varying labels all have the value "other".
func (m *Metrics) CounterVec(name string, max int, labels []string, varying ...string) *CounterVec {
	if m == nil || m.reserved(name) {
		return nil
	}
	probe := append([]string(nil), labels...)
	for _, v := range varying {
		probe = append(probe, v, "")
	}
	if _, err := metric.Name(name, probe...); err != nil {
		m.note(err)
		return nil
	}
	if max < 1 {
		m.note(errors.New("metric " + strconv.Quote(name) + ": max must be at least 1"))
		return nil
	}
	owner, _ := metric.Name(name, labels...)
	m.b.Claim(name, owner)
	v := &CounterVec{b: m.b, name: name, owner: owner, labels: labels, varying: varying, max: max,
		series: m.b.Claimed(name, owner)}
	return v
}

// Counter counts up. A nil Counter counts nothing.
type Counter struct{ c *vm.Counter }

// Inc adds 1.
func (c *Counter) Inc() {
	if c != nil {
		c.c.Inc()
	}
}

// Add adds n (n >= 0).
func (c *Counter) Add(n int) {
	if c != nil && n > 0 {
		c.c.Add(n)
	}
}

// Value returns the count.
func (c *Counter) Value() uint64 {
	if c == nil {
		return 0
	}
	return c.c.Get()
}

// Gauge is a value the step sets. A nil Gauge keeps nothing.
type Gauge struct{ g *vm.Gauge }

// Set sets the value.
func (g *Gauge) Set(v float64) {
	if g != nil {
		g.g.Set(v)
	}
}

// Add adds v (negative to subtract).
func (g *Gauge) Add(v float64) {
	if g != nil {
		g.g.Add(v)
	}
}

// Value returns the value.
func (g *Gauge) Value() float64 {
	if g == nil {
		return 0
	}
	return g.g.Get()
}

// Histogram counts observations into buckets. A nil Histogram keeps
// nothing.
type Histogram struct{ h *vm.PrometheusHistogram }

// Observe adds v; negative values are ignored.
func (h *Histogram) Observe(v float64) {
	if h != nil {
		h.h.Update(v)
	}
}

// ObserveDuration adds d in seconds.
func (h *Histogram) ObserveDuration(d time.Duration) {
	if h != nil {
		h.h.Update(d.Seconds())
	}
}

// RouteCounter counts per route: see Metrics.RouteCounter. A nil
// RouteCounter counts nothing.
type RouteCounter struct {
	b      *metric.Build
	name   string
	labels []string
	routes []string
	only   string // the one route of a route step; "" for every route
	cells  []atomic.Pointer[vm.Counter]
}

// Inc adds 1 to the series of c's route.
func (rc *RouteCounter) Inc(c *Context) { rc.Add(c, 1) }

// Add adds n to the series of c's route; nothing for a context without
// a route.
func (rc *RouteCounter) Add(c *Context, n int) {
	if rc == nil || n <= 0 {
		return
	}
	r := c.x().Route()
	if r == nil || r.Index < 0 || r.Index >= len(rc.cells) {
		return
	}
	cell := &rc.cells[r.Index]
	ctr := cell.Load()
	if ctr == nil {
		ctr = rc.make(r.Index)
		if ctr == nil {
			return
		}
		cell.Store(ctr)
	}
	ctr.Add(n)
}

// make makes the series of route i, the first time it counts.
func (rc *RouteCounter) make(i int) *vm.Counter {
	route := rc.routes[i]
	if rc.only != "" && route != rc.only {
		return nil
	}
	return rc.b.LazyCounter(rc.name, routeOwner(rc.name, rc.labels, route), append([]string{"route", route}, rc.labels...)...)
}

// Value returns the count of route's series (0 when it has none yet).
func (rc *RouteCounter) Value(route string) uint64 {
	if rc == nil {
		return 0
	}
	for i, r := range rc.routes {
		if r == route {
			if ctr := rc.cells[i].Load(); ctr != nil {
				return ctr.Get()
			}
		}
	}
	return 0
}

// maxLabelValue bounds a label value given at run time (CounterVec).
const maxLabelValue = 128

// otherValue is the label value past a CounterVec's bound.
const otherValue = "other"

// CounterVec counts per label values given at run time, bounded: see
// Metrics.CounterVec. A nil CounterVec counts nothing.
type CounterVec struct {
	b       *metric.Build
	name    string
	owner   string
	labels  []string
	varying []string
	max     int

	mu     sync.RWMutex
	series map[string]*vm.Counter // by key: the values joined by 0xff
	other  atomic.Pointer[vm.Counter]
}

// Inc adds 1 to the series of values, one per varying label name, in
// order (missing values are ""; extra ones are ignored).
func (v *CounterVec) Inc(values ...string) { v.Add(1, values...) }

// Add adds n to the series of values.
func (v *CounterVec) Add(n int, values ...string) {
	if v == nil || n <= 0 {
		return
	}
	var buf [256]byte
	key := buf[:0]
	ok := true
	for i := range v.varying {
		val := ""
		if i < len(values) {
			val = values[i]
		}
		if len(val) > maxLabelValue || !utf8.ValidString(val) {
			ok = false
			break
		}
		if i > 0 {
			key = append(key, 0xff)
		}
		key = append(key, val...)
	}
	var ctr *vm.Counter
	if ok {
		v.mu.RLock()
		ctr = v.series[string(key)]
		v.mu.RUnlock()
		if ctr == nil {
			ctr = v.make(key, values)
		}
	} else {
		ctr = v.otherSeries()
	}
	if ctr != nil {
		ctr.Add(n)
	}
}

// make makes the series of key, or returns the "other" series past max
// (without copying key: past max, requests pay no allocation).
func (v *CounterVec) make(key []byte, values []string) *vm.Counter {
	v.mu.Lock()
	if ctr := v.series[string(key)]; ctr != nil {
		v.mu.Unlock()
		return ctr
	}
	if len(v.series) >= v.max {
		v.mu.Unlock()
		return v.otherSeries()
	}
	labels := append([]string(nil), v.labels...)
	for i, name := range v.varying {
		val := ""
		if i < len(values) {
			val = values[i]
		}
		labels = append(labels, name, val)
	}
	k := string(key)
	ctr := v.b.LazyCounterKey(v.name, v.owner, k, labels...)
	if ctr != nil {
		v.series[k] = ctr
	}
	v.mu.Unlock()
	return ctr
}

// otherSeries returns the series past the bound; once it exists,
// without taking the lock.
func (v *CounterVec) otherSeries() *vm.Counter {
	if ctr := v.other.Load(); ctr != nil {
		return ctr
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if ctr := v.other.Load(); ctr != nil {
		return ctr
	}
	labels := append([]string(nil), v.labels...)
	for _, name := range v.varying {
		labels = append(labels, name, otherValue)
	}
	ctr := v.b.LazyCounter(v.name, v.owner, labels...)
	v.other.Store(ctr)
	return ctr
}
