// Package echo is the built-in demo upstream: a plain HTTP server that
// answers every request with a JSON description of what it received
// (method, path, query, headers, body). The default configuration proxies
// to it, so that a fresh `make run` shows requests travelling through the
// chain without any other server. It is a demo and a testing aid, not a
// production upstream.
package echo
