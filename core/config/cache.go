package config

import (
	"os"
	"strconv"
	"strings"
)

// Cache configures the shared in-memory cache (proxy cache, gw.cache,
// plugins). Changing it needs a restart.
type Cache struct {
	// Size is the cache's hard memory budget; at least "32MB". Default "256MB".
	Size Size `toml:"size"`
	// File, when set, keeps the cache across restarts: it is saved there
	// (a directory) on graceful shutdown and loaded at start, if it was
	// saved with the same size. Relative to the configuration file's
	// folder. Default "": memory only.
	File string `toml:"file,path"`
	// Cluster shares the proxy cache's purges with the other nodes
	// through [redis]. [cache.cluster]
	Cluster CacheCluster `toml:"cluster"`
}

// CacheCluster is [cache.cluster]: with a [redis] section, every purge of
// the proxy cache (admin API, PURGE, invalidation by unsafe methods) is
// published in a Redis Stream and applied by every node that reads it
// (docs/cluster.md). Without [redis] it does nothing.
type CacheCluster struct {
	// Enabled publishes the node's purges and applies the other nodes'.
	// Default true; false keeps every purge on the node that made it.
	Enabled bool `toml:"enabled"`
	// Stream is the Redis key of the stream; nodes share purges when they
	// share it (and their Redis). Default "moongate:cache:purges".
	Stream string `toml:"stream"`
	// MaxLen is how many purges the stream keeps, approximately (XADD
	// MAXLEN ~): a node that missed more (cut off from Redis meanwhile)
	// drops its whole proxy cache when it is back. At least 100. Default
	// 10000.
	MaxLen int `toml:"max_len"`
	// MaxOffline, when set, drops the node's proxy cache once Redis has
	// been unreachable that long, and again every MaxOffline while it
	// stays so, which bounds how long a purge made on another node
	// meanwhile can go unheard. Default "0s": keep serving, and apply the
	// missed purges (or drop everything) when Redis is back.
	MaxOffline Duration `toml:"max_offline"`
}

// DefaultCacheCluster returns [cache.cluster] with its defaults.
func DefaultCacheCluster() CacheCluster {
	return CacheCluster{Enabled: true, Stream: "moongate:cache:purges", MaxLen: 10000}
}

func (c *Config) checkCache(rep *reporter) {
	if c.Cache.Size < 32<<20 {
		rep.add("cache.size", "must be at least 32MB, got "+c.Cache.Size.String())
	}
	if f := c.Cache.File; f != "" {
		if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
			rep.add("cache.file", "must name a directory (the cache is saved as one), but "+f+" is a file")
		}
	}
	cl := c.Cache.Cluster
	if strings.TrimSpace(cl.Stream) == "" {
		rep.add("cache.cluster.stream", `must name a Redis key, such as "moongate:cache:purges"`)
	}
	if cl.MaxLen < 100 || cl.MaxLen > 100_000_000 {
		rep.add("cache.cluster.max_len", "must be between 100 and 100000000, got "+strconv.Itoa(cl.MaxLen))
	}
}
