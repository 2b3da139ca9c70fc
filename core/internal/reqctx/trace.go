package reqctx

import "github.com/moongate/moongate/core/tracecontext"

// traceState is the request's W3C trace context, set by the gateway
// before the chain runs (SetTrace); the zero value is "no trace".
type traceState struct {
	trace tracecontext.Trace
	// traceparent is trace as sent upstream, in hex; TraceID and SpanID
	// are slices of it.
	traceparent [tracecontext.TraceparentLen]byte
}

// SetTrace makes t the request's trace (see Trace), or clears it when t
// is the zero Trace.
func (c *Context) SetTrace(t tracecontext.Trace) {
	c.tr.trace = t
	if t.Valid() {
		t.AppendTraceparent(c.tr.traceparent[:0])
	}
}

// Trace returns the request's trace: the zero Trace when tracing is off.
func (c *Context) Trace() tracecontext.Trace { return c.tr.trace }

// Traceparent returns the traceparent sent upstream (55 bytes), nil when
// the request has no trace. The bytes belong to c.
func (c *Context) Traceparent() []byte {
	if !c.tr.trace.Valid() {
		return nil
	}
	return c.tr.traceparent[:]
}

// TraceID returns the trace ID in lowercase hex (32 bytes), nil when the
// request has no trace. The bytes belong to c.
func (c *Context) TraceID() []byte {
	if !c.tr.trace.Valid() {
		return nil
	}
	return c.tr.traceparent[3:35]
}

// SpanID returns the gateway's span ID in lowercase hex (16 bytes), nil
// when the request has no trace. The bytes belong to c.
func (c *Context) SpanID() []byte {
	if !c.tr.trace.Valid() {
		return nil
	}
	return c.tr.traceparent[36:52]
}
