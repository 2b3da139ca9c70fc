// Package concurrencylimit is the concurrency-limit plugin: at most
// max_in_flight requests of one key (the route by default; or the
// consumer, the client IP, a header, ... as for rate-limit) are in flight
// at once, from the step to the last byte of their response, a streamed
// body included. Past it a request waits in a short FIFO queue (queue,
// queue_timeout) or is refused at once with 503 (per route) or 429 (per
// client) and Retry-After.
//
//	[[routes.plugins]]
//	name = "concurrency-limit"
//	[routes.plugins.config]
//	max_in_flight = 100
//	queue = 20
//	queue_timeout = "500ms"
//
// The slot is held by fasthttp's request context, which closes it once
// the response has been written or the connection has failed (a hijacked
// connection, such as a WebSocket, holds it until it ends). The counts
// are per node, and listed by GET /concurrency-limits on the admin API.
// docs/ratelimit.md is the reference.
package concurrencylimit
