package gateway

import (
	"github.com/moongate/moongate/core/internal/chain"
	"github.com/moongate/moongate/core/upstream"
	"github.com/valyala/fasthttp"
)

// stripClientHeaders readies the client's headers, once, before the chain
// runs: repeated X-Forwarded-* lines joined in order before anything
// deletes a header; the client's hop-by-hop headers removed, so that its
// Connection header cannot delete what the chain and the gateway add
// later (a WebSocket handshake on a websocket route keeps its upgrade);
// and identity headers it forged removed, on every route.
func (rt *Runtime) stripClientHeaders(h *fasthttp.RequestHeader, r *chain.Route) {
	upstream.PrepareClientHeaders(h, r.Proxy.WebSocket)
	rt.identity.Strip(h)
}
