package cache

import (
	"log/slog"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// startRefresh revalidates the stale entry st found, in the background,
// once per key at a time (stale-while-revalidate): a copy of the request,
// with the entry's validators, goes to the route's upstream on a detached
// context, and its answer is stored as a fetch's would be.
func (p *Plugin) startRefresh(c *plugin.Context, st *state, now int64) {
	if c.RouteName() == "" {
		return
	}
	f, leader := p.flights.join(st.digest, now, p.collapseTimeout)
	if !leader {
		return // a refresh or a fetch for this key is on its way
	}
	select {
	case p.refreshes <- struct{}{}:
	default:
		p.flights.finish(st.digest, f)
		return
	}
	bg := acquireState()
	bg.mode = modeFetch
	bg.found = true
	bg.hadAuth, bg.perConsumer, bg.consumer = st.hadAuth, st.perConsumer, st.consumer
	bg.upstream, bg.target, bg.keyParts = st.upstream, st.target, st.keyParts
	bg.digest, bg.gen, bg.key = st.digest, st.gen, st.key
	bg.path = append(bg.path[:0], st.path...)
	bg.val = append(bg.val[:0], st.record...)
	bg.record = bg.val
	bg.entry, _ = parseEntry(bg.record)
	bg.stamp = now
	bg.flight = f

	req := fasthttp.AcquireRequest()
	c.Request.CopyTo(req)
	_, bg.revalidating = setFetchHeaders(&req.Header, &bg.entry)
	resp := fasthttp.AcquireResponse()
	d := c.Detach(req, resp)
	p.wg.Add(1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				d.LogAttrs(slog.LevelError, "cache refresh panicked", slog.Any("panic", r))
				p.flights.finish(bg.digest, bg.flight)
			}
			d.Release()
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
			releaseState(bg)
			<-p.refreshes
			p.wg.Done()
		}()
		d.Forward()
		p.finish(d, bg, false)
		p.n.refreshed.Add(1)
		d.LogAttrs(slog.LevelDebug, "cache entry refreshed in the background", slog.Int("status", resp.StatusCode()),
			slog.Duration("took", time.Since(d.Start())))
	}()
}
