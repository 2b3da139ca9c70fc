package plugin

import (
	"log/slog"
	"net/netip"
	"sync"

	"github.com/moongate/moongate/core/admin"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/registered"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

// AdminHandler serves an endpoint a plugin adds to the admin API.
type AdminHandler func(r *AdminRequest)

// AdminRequest is one request to an endpoint added with HandleAdmin,
// with what the gateway is serving when it arrives.
type AdminRequest struct {
	// Ctx is the request. Answer with JSON or Error.
	Ctx *fasthttp.RequestCtx
	// Config is the configuration being served (the last one loaded).
	Config *config.Config
	// Store is the process-wide shared store.
	Store *store.Store
	// Logger is the process logger.
	Logger *slog.Logger
}

// JSON answers with v encoded as JSON.
func (r *AdminRequest) JSON(status int, v any) { admin.WriteJSON(r.Ctx, status, v) }

// Error answers with the admin API's error format, {"error": message}.
func (r *AdminRequest) Error(status int, message string) { admin.WriteError(r.Ctx, status, message) }

// HandleAdmin adds an endpoint to the admin API, for method and path
// (exact match; a path ending in "/" matches every path under it). It is
// meant to be called from init; the same method and path registered twice
// panics, naming both places. The endpoint gets the checks every admin
// request passes (Host, Origin, bearer token, JSON-only state changes);
// the gateway's own endpoints (/status, /reload, /routes, /upstreams,
// /cache/stats) win a clash.
func HandleAdmin(method, path string, h AdminHandler) {
	if h == nil {
		panic("plugin: HandleAdmin needs a handler")
	}
	registered.AdminEndpoints.Register(method+" "+path, registered.AdminEndpoint{Method: method, Path: path,
		Serve: func(ctx *fasthttp.RequestCtx, cfg *config.Config, st *store.Store, logger *slog.Logger) {
			h(&AdminRequest{Ctx: ctx, Config: cfg, Store: st, Logger: logger})
		}})
}

// ReachesAdmin reports whether a connection to dst would reach an admin
// API listening in this process, for plugins that connect where a
// request or a script says (gw.http): such a connection must be refused,
// or a request could use the admin API with the gateway's own address.
// It is safe for concurrent use.
func ReachesAdmin(dst netip.AddrPort) bool { return admin.Reaches(dst) }

// LiveSteps is the set of a plugin's steps built and not yet cleaned up,
// for its admin endpoints: those of the configuration being served and,
// for a while after a reload, those of the one it replaced (filter them
// by the configuration an AdminRequest carries). A step adds itself when
// it is built and removes itself in its Cleanup. The zero value is an
// empty set, safe for concurrent use.
type LiveSteps[S comparable] struct {
	mu    sync.Mutex
	steps []S
}

// Add adds s.
func (l *LiveSteps[S]) Add(s S) {
	l.mu.Lock()
	l.steps = append(l.steps, s)
	l.mu.Unlock()
}

// Remove removes s.
func (l *LiveSteps[S]) Remove(s S) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.steps {
		if x == s {
			l.steps = append(l.steps[:i], l.steps[i+1:]...)
			return
		}
	}
}

// Steps returns the steps, in the order they were added.
func (l *LiveSteps[S]) Steps() []S {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]S(nil), l.steps...)
}
