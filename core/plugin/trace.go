package plugin

import "github.com/moongate/moongate/core/tracecontext"

// Trace returns the request's W3C trace context, set by the gateway
// before the chain runs: the trace ID (the client's, from a valid
// traceparent, or a new one), the gateway's span ID (the parent-id sent
// upstream), the client's span (ParentID, zero when the gateway started
// the trace) and the sampled flag. It is the zero Trace (Valid reports
// false) when [tracing] enabled = false. It stays the same for the whole
// request, the log phase included; a step that changes the traceparent
// header changes what goes upstream, not this.
func (c *Context) Trace() tracecontext.Trace { return c.x().Trace() }

// Traceparent returns the traceparent the gateway sends upstream, 55
// bytes ("00-<trace-id>-<gateway span-id>-<flags>"), or nil when the
// request has no trace (see Trace). The bytes belong to the context:
// read-only, valid until the request ends (the log phase included).
func (c *Context) Traceparent() []byte { return c.x().Traceparent() }

// TraceID returns the request's trace ID as 32 lowercase hex digits, or
// nil when the request has no trace. The bytes belong to the context, as
// with Traceparent.
func (c *Context) TraceID() []byte { return c.x().TraceID() }

// SpanID returns the gateway's span ID (the parent-id sent upstream) as
// 16 lowercase hex digits, or nil when the request has no trace. The
// bytes belong to the context, as with Traceparent.
func (c *Context) SpanID() []byte { return c.x().SpanID() }
