// Package tracecontext reads, checks and writes the W3C Trace Context
// headers, traceparent and tracestate (https://www.w3.org/TR/trace-context/),
// without allocating:
//
//   - ParseTraceparent checks a received traceparent as the specification
//     says (version 00 exactly; a higher version, not ff, by its first four
//     fields; lowercase hex only; all-zero trace-id and parent-id refused).
//   - AppendTracestate checks a received tracestate (its lines combined, as
//     RFC 9110 §5.3 reads repeated fields) and writes it back within the
//     specification's limits: at most 32 list-members and 512 characters.
//   - Trace is what the gateway forwards: the trace-id, the gateway's own
//     span (the parent-id it sends upstream), the caller's span and the
//     sampled flag. NewTraceID and NewSpanID make random identifiers and a
//     Sampler decides, from a new trace-id, whether the trace is sampled.
//
// The gateway applies it to every request before the chain runs (see
// docs/observability.md, "Tracing"); plugins read the result through
// plugin.Context.Trace. It imports nothing of moongate.
package tracecontext
