package config

import (
	"testing"
	"time"
)

// TestCacheCluster: [cache.cluster] has its defaults without the table,
// keeps the ones a partial table leaves out, and reports its mistakes as
// file:line: cache.cluster.key: reason.
func TestCacheCluster(t *testing.T) {
	cfg, ps := parse(t, "")
	if ps != nil || cfg.Cache.Cluster != DefaultCacheCluster() || !cfg.Cache.Cluster.Enabled {
		t.Fatalf("no [cache.cluster]: got %+v, %v; want the defaults", cfg.Cache.Cluster, ps)
	}
	cfg, ps = parse(t, "[cache.cluster]\nmax_offline = \"30s\"\n")
	if want := (CacheCluster{Enabled: true, Stream: "moongate:cache:purges", MaxLen: 10000, MaxOffline: Duration(30 * time.Second)}); ps != nil || cfg.Cache.Cluster != want {
		t.Fatalf("got %+v, %v; want %+v", cfg.Cache.Cluster, ps, want)
	}
	_, ps = parse(t, "[cache.cluster]\nstream = \" \"\nmax_len = 10\nmax_offline = \"-1s\"\nenable = false\n")
	wantProblem(t, ps, 2, "cache.cluster.stream", "must name a Redis key")
	wantProblem(t, ps, 3, "cache.cluster.max_len", "must be between 100 and 100000000, got 10")
	wantProblem(t, ps, 4, "cache.cluster.max_offline", "must not be negative")
	wantProblem(t, ps, 5, "cache.cluster.enable", `did you mean "enabled"?`)
}
