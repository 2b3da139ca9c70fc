// Command compare is the side-by-side benchmark harness behind
// `make bench-compare` (bench/compare.sh builds the programs and runs it).
//
// It starts the origin (bench/backend), then for each scenario starts every
// contender (moongate, nginx, haproxy, varnish, the bare fasthttp proxy)
// with an equivalent configuration rendered from bench/conf, checks that
// its responses are right, drives it with wrk, and reads the contender's
// CPU time and memory from /proc. Contenders are interleaved over several
// rounds and compared within a round, so that drift on a shared machine
// moves every figure of a round alike. It prints a Markdown table and
// writes it, with the machine, versions and layout, to the output
// directory (and to bench/RESULTS.md with -results).
//
// With -scale (`make bench-scale-e2e`) it measures instead how moongate's cost
// grows with the work: routes, body size and concurrent connections
// (scale.go).
//
// See bench/README.md for the scenarios and how to read the table.
package main
