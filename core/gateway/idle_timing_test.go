//go:build unix

package gateway_test

import (
	"bufio"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// cpuTime is the CPU time (user and system) the process has used. On a
// shared machine it varies less than the time a request takes.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkKeepAlive serves requests one after the other on one real
// keep-alive connection (loopback, a mock step answers): the cost of the
// server loop and the connection wrapper around the chain. "busy": the
// next request comes at once, as under load, and the connection never
// parks; "parks every request": every wait for a request parks the
// connection, so each request also pays one park and one wake (woken by
// epoll, or by the goroutine that waits for it elsewhere). cpu-ns/op
// is the process's CPU time per request, client included.
func BenchmarkKeepAlive(b *testing.B) {
	for _, tc := range []struct {
		name      string
		after     time.Duration
		goroutine bool // the portable wait instead of epoll
	}{
		{"busy", 0, false}, // 0: the default
		{"parks every request", time.Nanosecond, false},
		{"parks every request, goroutine wait", time.Nanosecond, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			oldAfter, oldPoller := gateway.SetParkAfter(tc.after), gateway.UsePoller(!tc.goroutine)
			if tc.after == 0 {
				gateway.SetParkAfter(oldAfter) // the default
			}
			g := gatewaytest.Start(b, `
[[plugins]]
name = "mock"
[plugins.config]
body = "hello"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:9" }]
[[routes]]
paths = ["/"]
upstream = "u"
`)
			gateway.SetParkAfter(oldAfter)
			gateway.UsePoller(oldPoller)
			c, err := net.Dial("tcp", g.Addrs()[0])
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br, bw := bufio.NewReader(c), bufio.NewWriter(c)
			var req fasthttp.Request
			req.SetRequestURI("http://gw/x")
			var resp fasthttp.Response
			do := func() {
				if err := req.Write(bw); err != nil {
					b.Fatal(err)
				}
				if err := bw.Flush(); err != nil {
					b.Fatal(err)
				}
				if err := resp.Read(br); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("%v %d", err, resp.StatusCode())
				}
			}
			do()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				do()
			}
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
