// Package gateway runs moongate: it compiles a configuration into an
// immutable Runtime (router, routes with their chains, upstreams), serves
// requests through the current runtime, swaps runtimes atomically on
// reload (in-flight requests finish on the old one), serves the admin API,
// and drains gracefully on shutdown.
package gateway
