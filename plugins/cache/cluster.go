package cache

import (
	"log/slog"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/plugins/cache/clustersync"
)

// Purges across the nodes of a cluster: with [redis] (and [cache.cluster]
// enabled, the default), every purge this node makes is applied here at
// once and published through a Redis Stream; the other nodes' purges are
// read from it and applied here (clustersync). The sync belongs to the
// proxy cache's namespace, beside its marks, so that there is one per
// process whatever the reloads: each cache step built with a Redis client
// attaches to it, and detaches in Cleanup.

// The kinds of purges in the stream.
const (
	kindURL    = "url"
	kindPrefix = "prefix"
	kindRoute  = "route"
	kindTag    = "tag"
)

func init() { plugin.HandleAdmin("GET", "/cache/cluster", adminCluster) }

// attachCluster attaches the step to the namespace's cluster sync when
// the configuration has [redis]. The sync is made by the first
// configuration with [redis] and [cache.cluster] enabled; like the rest
// of [cache], a later change of [cache.cluster] takes effect at a
// restart.
func (p *Plugin) attachCluster(spec plugin.Spec) {
	rc, cfg := spec.Redis(), spec.Settings()
	if rc == nil || cfg == nil {
		return
	}
	p.cluster = p.marks.clusterOf()
	if p.cluster == nil {
		if !cfg.Cache.Cluster.Enabled {
			return
		}
		loaded := spec.Env.Store != nil && spec.Env.Store.Stats().Loaded // once: Stats walks the store
		p.cluster = p.marks.clusterSync(p.ns, cfg.Cache.Cluster, spec.Env.Logger, loaded)
	}
	p.detach = p.cluster.Attach(rc)
	clusterMetrics(spec.Metrics(), p.cluster)
}

// clusterMetrics puts the cluster sync's counters on GET /metrics, read
// when it is scraped. The sync is the process's one: every cache step of
// a build asks for the same series, and the first one's are kept.
func clusterMetrics(m *plugin.Metrics, c *clustersync.Sync) {
	counter := func(name string, f func(clustersync.Stats) uint64) {
		m.CounterFunc("moongate_cache_cluster_"+name+"_total", func() float64 { return float64(f(c.Stats())) })
	}
	counter("published", func(s clustersync.Stats) uint64 { return s.Published })
	counter("publish_errors", func(s clustersync.Stats) uint64 { return s.PublishErrors })
	counter("queue_full", func(s clustersync.Stats) uint64 { return s.QueueFull })
	counter("applied", func(s clustersync.Stats) uint64 { return s.Applied })
	counter("replayed", func(s clustersync.Stats) uint64 { return s.Replayed })
	counter("gaps", func(s clustersync.Stats) uint64 { return s.Gaps })
	counter("offline_drops", func(s clustersync.Stats) uint64 { return s.OfflineDrops })
	counter("read_errors", func(s clustersync.Stats) uint64 { return s.ReadErrors })
	m.GaugeFunc("moongate_cache_cluster_connected", func() float64 {
		if c.Stats().Connected {
			return 1
		}
		return 0
	})
	m.GaugeFunc("moongate_cache_cluster_queued", func() float64 { return float64(c.Stats().Queued) })
}

// clusterSync returns the namespace's cluster sync, made on first use
// with cc (later configurations' [cache.cluster] take effect on restart,
// as all of [cache]).
func (s *markSet) clusterSync(ns *store.Namespace, cc config.CacheCluster, logger *slog.Logger, loaded bool) *clustersync.Sync {
	s.clusterMu.Lock()
	defer s.clusterMu.Unlock()
	if s.cluster == nil {
		o := clustersync.Options{Stream: cc.Stream, MaxLen: int64(cc.MaxLen), MaxOffline: cc.MaxOffline.Std(),
			Logger: logger, Counter: ns.Counter}
		s.cluster = clustersync.New(o, &applier{ns: ns, marks: s, loaded: loaded}, s.savedPos)
	}
	return s.cluster
}

// clusterOf returns the sync of a namespace, nil when none was made.
func (s *markSet) clusterOf() *clustersync.Sync {
	s.clusterMu.Lock()
	defer s.clusterMu.Unlock()
	return s.cluster
}

// clusterPosition returns the place in the purge stream to save with the
// cache: the sync's once it has stopped (a running sync may be ahead of
// the entries being saved), the loaded one when there is no sync.
func (s *markSet) clusterPosition() clustersync.Position {
	c := s.clusterOf()
	if c == nil {
		return s.savedPos
	}
	if c.Running() {
		return clustersync.Position{}
	}
	return c.Position()
}

// applier applies the other nodes' purges to the proxy cache.
type applier struct {
	ns     *store.Namespace
	marks  *markSet
	loaded bool // the store was loaded from a saved cache
}

var _ clustersync.Handler = (*applier)(nil)

// Apply implements clustersync.Handler. A mark is stamped with this
// node's clock when the purge arrives, never the sender's: it purges
// everything requested before it arrived, whatever the clocks.
func (a *applier) Apply(op clustersync.Op) {
	switch op.Kind {
	case kindURL, kindPrefix, kindRoute, kindTag:
		applyOp(a.ns, a.marks, op)
	default: // clustersync.KindAll, and kinds of newer nodes: their extent is unknown
		a.DropAll()
	}
}

// DropAll implements clustersync.Handler.
func (a *applier) DropAll() {
	a.marks.dropBefore(time.Now().UnixNano())
	a.ns.Purge()
}

// MayHoldEntries implements clustersync.Handler.
func (a *applier) MayHoldEntries() bool {
	return a.loaded || a.ns.Counter("stored").Load() > 0
}

// publish sends a purge this node applied to the other nodes, without
// waiting (nothing to do without a cluster sync).
func (p *Plugin) publish(kind string, key []byte) {
	if p.cluster != nil {
		p.cluster.Publish(clustersync.Op{Kind: kind, Key: string(key)})
	}
}

// adminCluster answers GET /cache/cluster: the cluster sync's state and
// counters, or {"enabled": false} when the proxy cache has none.
func adminCluster(r *plugin.AdminRequest) {
	c := marksOf(r.Store.Namespace(namespace)).clusterOf()
	if c == nil {
		r.JSON(200, map[string]any{"enabled": false})
		return
	}
	r.JSON(200, struct {
		Enabled bool `json:"enabled"`
		clustersync.Stats
	}{true, c.Stats()})
}
