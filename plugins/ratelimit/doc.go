// Package ratelimit is the rate-limit plugin: it counts requests per key
// (consumer, client IP, route, header, path parameter, query argument,
// per-request value, or several combined) against any number of windows
// ("100 per minute and 10 per second"), on this node (policy "local") or
// on a Redis shared by every node (policy "redis"), and answers 429 with
// the gateway's JSON error and Retry-After past the limit. Every response
// it sees carries the IETF RateLimit header fields (or the older
// RateLimit-Limit/-Remaining/-Reset, or none).
//
//	[[routes.plugins]]
//	name = "rate-limit"
//	[routes.plugins.config]
//	limits = [{ requests = 100, per = "1m" }, { requests = 10, per = "1s" }]
//	key = "consumer"
//
// The counting itself is core/ratelimit's, with its guarantees: at most N
// requests in any interval of length P (sliding window), a local decision
// without a global lock and without allocating, a Redis decision in one
// atomic script run, and a documented fallback when Redis fails. The
// steps and their counters are listed by GET /rate-limits on the admin
// API. docs/ratelimit.md is the reference.
package ratelimit
