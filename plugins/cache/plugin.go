package cache

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/plugins/cache/clustersync"
)

func init() { plugin.Register("cache", New) }

// Plugin is an instance of the cache step: its policy, decided once from
// its configuration, and the machinery that applies it to requests. It
// keeps no per-request state: that lives in a pooled *state attached to
// the request's context (state.go).
type Plugin struct {
	policy

	// ns is the shared store's "proxy" namespace, where entries live,
	// shared with every cache step and the admin API's purges.
	ns *store.Namespace
	// marks are the purge marks kept with ns (marks.go).
	marks *markSet
	// flights are the fetches on their way, by key, that concurrent
	// misses wait for (collapse) and refreshes join (flight.go).
	flights flightGroup
	// refreshes bounds the background refreshes (stale-while-revalidate)
	// running at once: a slot is taken while one runs (refresh.go).
	refreshes chan struct{}
	// wg counts the background refreshes running, for Cleanup.
	wg sync.WaitGroup
	// n are the namespace's counters (hits, misses, ...): shared by the
	// steps, shown by the admin API's /cache/stats.
	n counters
	// keyWarned is set once warnKeyChanged has logged.
	keyWarned atomic.Bool
	// m counts the requests by route and X-Cache-Status, for
	// moongate_cache_requests_total.
	m requestCounters
	// cluster publishes this step's purges to the other nodes (PURGE,
	// unsafe methods); nil without [redis] (cluster.go). detach ends the
	// step's attachment to it, in Cleanup.
	cluster *clustersync.Sync
	detach  func()
}

// requestCounters count the requests the step saw, by their
// X-Cache-Status, per route (moongate_cache_requests_total{route,status}).
type requestCounters struct {
	hit, miss, expired, stale, bypass, revalidated *plugin.RouteCounter
}

// requestsMetric is the family of requestCounters.
const requestsMetric = "moongate_cache_requests_total"

func newRequestCounters(m *plugin.Metrics) requestCounters {
	rc := func(status string) *plugin.RouteCounter { return m.RouteCounter(requestsMetric, "status", status) }
	return requestCounters{hit: rc("hit"), miss: rc("miss"), expired: rc("expired"), stale: rc("stale"),
		bypass: rc("bypass"), revalidated: rc("revalidated")}
}

// counters are the namespace's counters a step adds to.
type counters struct {
	hit, miss, expired, stale, bypass, revalidated *atomic.Uint64
	stored, collapsed, refreshed, invalidated      *atomic.Uint64
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)
	_ plugin.Cleaner         = (*Plugin)(nil)
)

// maxRefreshes bounds the background refreshes (stale-while-revalidate)
// running at once per step; past it, a stale entry is served without
// starting another, and a later request refreshes it.
const maxRefreshes = 64

// New builds the step from its configuration.
func New(spec plugin.Spec) (any, error) {
	cfg := defaults()
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	ns := spec.Namespace(namespace)
	if ns == nil {
		return nil, spec.Config.Problem("", "the shared cache is not available")
	}
	p := &Plugin{ns: ns, marks: marksOf(ns), refreshes: make(chan struct{}, maxRefreshes)}
	if err := p.compile(spec, &cfg); err != nil {
		return nil, err
	}
	p.n = counters{
		hit: p.ns.Counter("hit"), miss: p.ns.Counter("miss"), expired: p.ns.Counter("expired"),
		stale: p.ns.Counter("stale"), bypass: p.ns.Counter("bypass"), revalidated: p.ns.Counter("revalidated"),
		stored: p.ns.Counter("stored"), collapsed: p.ns.Counter("collapsed"), refreshed: p.ns.Counter("refreshed"),
		invalidated: p.ns.Counter("invalidated"),
	}
	p.m = newRequestCounters(spec.Metrics())
	p.attachCluster(spec)
	return p, nil
}

// Cleanup waits (a few seconds at most) for background refreshes, and
// detaches the step from the cluster sync (the last step to go stops it).
func (p *Plugin) Cleanup() error {
	if p.detach != nil {
		p.detach()
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return nil
}
