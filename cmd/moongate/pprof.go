//go:build pprof

package main

// The profiling build, for benchmarks only: go build -tags pprof
// ./cmd/moongate. When MOONGATE_PPROF holds a loopback address
// ("127.0.0.1:6060"), net/http/pprof is served there. Release builds
// (without the tag) contain none of this.

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("MOONGATE_PPROF")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "moongate: MOONGATE_PPROF=%q: not a loopback address; profiling stays off\n", addr)
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			fmt.Fprintln(os.Stderr, "moongate: pprof:", err)
		}
	}()
}
