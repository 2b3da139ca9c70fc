// Package origin is the upstream server of the benchmarks: a fasthttp
// server with fixed responses, so that every proxy under test forwards
// exactly the same bytes.
//
// It answers GET /100 with a 100-byte body and GET /10k with a 10 KB body
// (both cacheable for five minutes), GET /inspect with the request headers
// it received (for the correctness checks), and GET /__hits with the number
// of requests it has served, which the harness reads directly, not through
// a proxy.
package origin
