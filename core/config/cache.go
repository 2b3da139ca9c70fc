package config

import "os"

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
}
