package gateway

import (
	"log/slog"
	"time"

	"github.com/moongate/moongate/core/admin"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

// openCache creates the process-wide cache, loading it from [cache] file
// when one was saved there.
func openCache(cfg *config.Config, logger *slog.Logger) *store.Store {
	start := time.Now()
	c, err := store.Open(cfg.Cache.File, cfg.Cache.Size.Int())
	if err != nil {
		logger.Warn("cache not loaded", "file", cfg.Cache.File, "error", err)
	} else if st := c.Stats(); st.Loaded {
		logger.Info("cache loaded", "file", cfg.Cache.File, "entries", st.Entries,
			"took", time.Since(start).Round(time.Millisecond).String())
	}
	return c
}

// saveCache writes the cache to [cache] file, once, at shutdown.
func (g *Gateway) saveCache() {
	g.saveOnce.Do(func() {
		if g.cache.File() == "" {
			return
		}
		start := time.Now()
		if err := g.cache.Save(); err != nil {
			g.logger.Error("cache not saved", "file", g.cache.File(), "error", err)
			return
		}
		g.logger.Info("cache saved", "file", g.cache.File(), "entries", g.cache.Stats().Entries,
			"took", time.Since(start).Round(time.Millisecond).String())
	})
}

// registerCacheAdmin adds the shared store's endpoint:
//
//	GET  /cache/stats   the shared cache's counters, per namespace
//
// (The proxy cache's POST /cache/purge is the cache plugin's.)
func (g *Gateway) registerCacheAdmin(a *admin.Server) {
	a.Handle("GET", "/cache/stats", func(ctx *fasthttp.RequestCtx) {
		admin.WriteJSON(ctx, 200, g.cache.Stats())
	})
}
