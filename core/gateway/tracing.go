package gateway

import (
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/tracecontext"
	"github.com/valyala/fasthttp"
)

// tracing is [tracing] compiled: whether the gateway takes part in W3C
// traces, and how it samples the traces it starts.
type tracing struct {
	enabled bool
	sampler tracecontext.Sampler
}

func newTracing(cfg config.Tracing) tracing {
	return tracing{enabled: cfg.Enabled, sampler: tracecontext.NewSampler(cfg.SamplingRatio)}
}

// startTrace gives the request its trace, after routing and before the
// chain runs, and writes it into the request headers as they go
// upstream (W3C Trace Context, "participation mode"):
//
//   - A valid traceparent (one line; see tracecontext.ParseTraceparent)
//     continues its trace: same trace ID and sampled flag, the client's
//     span as the parent of the gateway's, a new span ID for the gateway
//     sent upstream as parent-id, in version 00. Its tracestate is checked
//     and cut to the limits (tracecontext.AppendTracestate); a malformed
//     one is dropped.
//   - A missing or invalid traceparent (or two lines of it) starts a new
//     trace, sampled as [tracing] sampling_ratio says; the client's
//     tracestate is dropped with it, as the specification asks. A
//     malformed traceparent is never forwarded.
//
// It allocates nothing: the headers' own buffers take the values.
func (rt *Runtime) startTrace(c *reqctx.Context) {
	if !rt.tracing.enabled {
		return
	}
	h := &c.Request.Header
	// One pass over the headers, without normalizing names as Peek does.
	var tp, ts []byte
	var ntp, nts int
	for k, v := range h.All() {
		switch len(k) {
		case len(hTraceparent):
			if httpbytes.EqualFold(k, hTraceparent) {
				tp = v
				ntp++
			}
		case len(hTracestate):
			if httpbytes.EqualFold(k, hTracestate) {
				ts = v
				nts++
			}
		}
	}
	var t tracecontext.Trace
	var ok bool
	if ntp == 1 {
		t.TraceID, t.ParentID, t.Flags, ok = tracecontext.ParseTraceparent(tp)
		t.Flags &= tracecontext.FlagSampled
	}
	if !ok {
		t = tracecontext.Trace{TraceID: tracecontext.NewTraceID()}
		if rt.tracing.sampler.Sample(t.TraceID) {
			t.Flags = tracecontext.FlagSampled
		}
	}
	t.SpanID = tracecontext.NewSpanID()
	c.SetTrace(t)
	switch {
	case nts == 0:
	case !ok:
		h.DelBytes(keyTracestate)
	case nts == 1:
		forwardTracestate(h, ts)
	default:
		forwardTracestateLines(h)
	}
	if ntp > 1 {
		h.DelBytes(keyTraceparent)
	}
	// Replaces the client's line in place, or adds one.
	h.SetCanonical(keyTraceparent, c.Traceparent())
}

// The header names, in the canonical form fasthttp stores them in.
const (
	hTraceparent = "Traceparent"
	hTracestate  = "Tracestate"
)

var (
	keyTraceparent = []byte(hTraceparent)
	keyTracestate  = []byte(hTracestate)
)

// forwardTracestate replaces the client's tracestate line by the list to
// forward: checked and within the limits; none when it was malformed or
// empty. A line that is already what would be sent is left alone.
func forwardTracestate(h *fasthttp.RequestHeader, line []byte) {
	var buf [tracecontext.MaxTracestateLen]byte
	out, ok := tracecontext.AppendTracestate(buf[:0], [][]byte{line})
	if ok && string(out) == string(line) {
		return
	}
	setTracestate(h, out)
}

// forwardTracestateLines replaces the client's tracestate lines by the
// list to forward, as one line. The lines are read as received: a header
// deleted before (a hop-by-hop one) may have moved them in the header
// list. Rare enough (several lines) to pay for a second scan.
func forwardTracestateLines(h *fasthttp.RequestHeader) {
	var lines [tracecontext.MaxMembers][]byte
	n := 0
	for k, v := range h.AllInOrder() {
		if n < len(lines) && httpbytes.EqualFold(k, hTracestate) {
			lines[n] = v
			n++
		}
	}
	var buf [tracecontext.MaxTracestateLen]byte
	out, _ := tracecontext.AppendTracestate(buf[:0], lines[:n])
	setTracestate(h, out)
}

func setTracestate(h *fasthttp.RequestHeader, v []byte) {
	h.DelBytes(keyTracestate)
	if len(v) > 0 {
		h.SetCanonical(keyTracestate, v)
	}
}
