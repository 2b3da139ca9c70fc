// Package upstream forwards requests to upstream servers: it holds each
// upstream's targets with their keep-alive connection pools, picks a target
// with the upstream's balancer, prepares the request (hop-by-hop headers
// removed, X-Forwarded-* set), calls the target on the request's own
// goroutine, and maps failures to 502 (unreachable) and 504 (timed out).
//
// Balancers are registered by name (RegisterBalancer); "round-robin" is
// built in. A balancer picks a target per request without allocating.
package upstream
