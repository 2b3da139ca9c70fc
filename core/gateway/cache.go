package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
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

// registerCacheAdmin adds the cache endpoints:
//
//	GET  /cache/stats   the shared cache's counters, per namespace
//	POST /cache/purge   purge the proxy cache: a JSON body such as
//	                    {"url": "/users/42"}, {"prefix": "/users/"},
//	                    {"route": "users"}, {"tag": "user-42"},
//	                    {"tags": ["a", "b"]} or {"all": true} sent as
//	                    application/json, or the same as query
//	                    arguments with no body (?prefix=/users/)
func (g *Gateway) registerCacheAdmin(a *admin.Server) {
	a.Handle("GET", "/cache/stats", func(ctx *fasthttp.RequestCtx) {
		admin.WriteJSON(ctx, 200, g.cache.Stats())
	})
	a.Handle("POST", "/cache/purge", func(ctx *fasthttp.RequestCtx) {
		var p store.Purge
		// The admin API lets a body through only as application/json.
		if body := bytes.TrimSpace(ctx.PostBody()); len(body) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				admin.WriteError(ctx, 400, "invalid purge body: "+err.Error())
				return
			}
		} else {
			args := ctx.QueryArgs()
			p.URL = string(args.Peek("url"))
			p.Prefix = string(args.Peek("prefix"))
			p.Route = string(args.Peek("route"))
			p.Tag = string(args.Peek("tag"))
			all := string(args.Peek("all"))
			p.All = all == "true" || all == "1"
		}
		if g.Runtime().foldPaths {
			// Request paths were lower-cased before the cache saw them.
			p.URL, p.Prefix = strings.ToLower(p.URL), strings.ToLower(p.Prefix)
		}
		if p.Route != "" && !g.hasRoute(p.Route) {
			admin.WriteError(ctx, 404, "no route named "+strconv.Quote(p.Route))
			return
		}
		done, err := g.cache.Namespace(store.HTTPNamespace).Apply(p)
		if err != nil {
			admin.WriteError(ctx, 400, err.Error())
			return
		}
		g.logger.Info("cache purged", "what", strings.Join(done, ", "))
		admin.WriteJSON(ctx, 200, map[string]any{"purged": done})
	})
}

func (g *Gateway) hasRoute(name string) bool {
	for _, r := range g.Runtime().Routes() {
		if r.Name == name {
			return true
		}
	}
	return false
}
