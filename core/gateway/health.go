package gateway

import (
	"github.com/moongate/moongate/core/admin"
	"github.com/valyala/fasthttp"
)

// The life of a gateway, as a load balancer or a service manager sees it:
//
//	New ─► Start (listeners bound) ─► ready ─► Drain ─► Shutdown
//
// Ready reports true between Start and Drain. Drain begins the end: the
// listeners keep serving (for [server] shutdown_delay, decided by the
// caller), but /readyz fails and every response asks its client to close
// its connection. Shutdown then stops accepting and lets in-flight
// requests finish.

// Ready reports whether the gateway should be sent traffic, and why not:
// its configuration is loaded (New), its listeners are bound (Start) and
// it is not draining (Drain, Shutdown).
func (g *Gateway) Ready() (bool, string) {
	switch {
	case g.draining.Load():
		return false, "draining: shutting down"
	case !g.ready.Load():
		return false, "starting: listeners not bound yet"
	}
	return true, ""
}

// Draining reports whether Drain or Shutdown was called.
func (g *Gateway) Draining() bool { return g.draining.Load() }

// Drain makes /readyz fail and every response carry "Connection: close",
// so that load balancers take the node out and clients reconnect
// elsewhere (with [server] reuse_port, to the other process on the same
// addresses, half of the time), while the listeners keep serving until
// Shutdown. It is called once the process was told to stop (SIGTERM,
// SIGINT), shutdown_delay before Shutdown.
func (g *Gateway) Drain() { g.draining.Store(true) }

// registerHealth adds the endpoints of load balancers and service
// managers, answered without the admin token (they tell nothing but the
// process's state):
//
//	GET /healthz  200 {"status": "ok"}: the process is alive
//	GET /readyz   200 {"status": "ok"}, or 503 {"status": "unavailable", "reason": ...}
func (g *Gateway) registerHealth(a *admin.Server) {
	a.HandleOpen("/healthz", func(ctx *fasthttp.RequestCtx) {
		admin.WriteJSON(ctx, 200, map[string]string{"status": "ok"})
	})
	a.HandleOpen("/readyz", func(ctx *fasthttp.RequestCtx) {
		if ok, why := g.Ready(); !ok {
			admin.WriteJSON(ctx, 503, map[string]string{"status": "unavailable", "reason": why})
			return
		}
		admin.WriteJSON(ctx, 200, map[string]string{"status": "ok"})
	})
}
