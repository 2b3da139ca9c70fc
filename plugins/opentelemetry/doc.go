// Package opentelemetry is the "opentelemetry" plugin: it exports a span
// for every sampled request over OTLP/HTTP (protobuf) to an OpenTelemetry
// collector, or any backend that speaks OTLP (Jaeger, Tempo, ...).
//
// The span's trace and span IDs are the ones the gateway sends upstream
// in traceparent ([tracing], see docs/observability.md), so the backend
// links the client's span, the gateway's and the upstream's. A request is
// exported when its trace is sampled: the client's sampled flag, or
// [tracing] sampling_ratio for the traces the gateway starts. Each span
// carries the route, the method, the status, the upstream and the target
// it reached, with a child span for each step of the chain in each phase
// it ran, and one for the upstream call.
//
// Spans are queued and sent in batches by a goroutine of their own: a
// slow or unreachable collector never delays a request. When the queue is
// full, spans are dropped and counted (Stats).
//
//	[[plugins]]
//	name = "opentelemetry"   # first in the chain, to see every step
//	[plugins.config]
//	endpoint = "http://127.0.0.1:4318/v1/traces"   # required
//	service_name = "moongate"                       # default
//	headers = { "Authorization" = "Bearer ${OTLP_TOKEN}" }
//	resource_attributes = { "deployment.environment" = "prod" }
//	timeout = "10s"          # one export, retries included; default
//	batch_size = 512         # spans per export; default
//	flush_interval = "5s"    # the longest a span waits; default
//	queue_size = 2048        # spans waiting; more are dropped; default
//	step_spans = true        # a child span per step and phase; default
//	compression = "none"     # or "gzip"; default "none"
package opentelemetry
