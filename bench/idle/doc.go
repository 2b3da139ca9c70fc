// Package idle opens many idle keep-alive HTTP connections to a server:
// each sends one request, reads its response and then stays open and
// silent, the way browsers and mobile clients hold connections between
// requests. The benchmarks use it to measure a proxy's memory per idle
// connection.
package idle
