package upstream

import (
	"bufio"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// TestPostReplayedWhenNothingWasWritten: when the target resets a pooled
// connection after the idle check passed but before the request is
// written (the race the check cannot close), the write fails before the
// socket took a single byte: the POST provably did not reach the target
// and goes, once, on a fresh connection. The idle check is left out of
// the dialled connections here so that the reset is met by the write.
func TestPostReplayedWhenNothingWasWritten(t *testing.T) {
	if !tcpStateSupported {
		t.Skip("needs TCP_INFO to know when the reset arrived")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	reset := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // bounds a stuck test
				br := bufio.NewReader(c)
				var req fasthttp.Request
				for {
					if err := req.Read(br); err != nil {
						return
					}
					mu.Lock()
					seen[string(req.Header.Method())+" "+string(req.URI().Path())]++
					mu.Unlock()
					if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
						return
					}
					if n == 0 {
						c.(*net.TCPConn).SetLinger(0) //nolint:errcheck // close sends a reset
						c.Close()
						close(reset)
						return
					}
				}
			}()
		}
	}()

	cfg := &config.Upstream{Name: "u", Targets: []config.Target{{URL: "http://" + ln.Addr().String(), Weight: 1}}}
	cfg.SetDefaults()
	u, err := New(cfg, "upstreams[0]", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	dialled := make(chan *net.TCPConn, 4)
	u.targets[0].Client.DialTimeout = func(addr string, timeout time.Duration) (net.Conn, error) {
		c, err := fasthttp.DialTimeout(addr, timeout)
		if err != nil {
			return nil, err
		}
		dialled <- c.(*net.TCPConn)
		return &trackedConn{Conn: c}, nil // no idle check
	}
	r := &reqctx.Route{Name: "r", Upstream: u}
	forward := func(method string, body []byte) (int, []byte) {
		var fc fasthttp.RequestCtx
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI("http://gateway.local/pay")
		req.SetBody(body)
		fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5}, nil)
		c := reqctx.Acquire(&fc)
		defer reqctx.Release(c)
		c.Setup(r, -1, nil, nil, nil)
		if err := u.Forward(c); err != nil {
			if ce, ok := err.(*plugin.Error); ok {
				return ce.Status, []byte(ce.Message)
			}
			t.Fatal(err)
		}
		return fc.Response.StatusCode(), append([]byte(nil), fc.Response.Body()...)
	}

	if st, body := forward("GET", nil); st != 200 {
		t.Fatalf("first request: %d %s", st, body)
	}
	first := <-dialled
	select {
	case <-reset:
	case <-time.After(10 * time.Second):
		t.Fatal("the target did not reset its connection")
	}
	// Wait until the gateway's side of the connection has taken the
	// reset in (the socket is CLOSED), so that the write meets it.
	if err := waitTCPState(first, tcpClose); err != nil {
		t.Fatal(err)
	}
	if st, body := forward("POST", []byte(`{"amount":100}`)); st != 200 || string(body) != "ok" {
		t.Fatalf("POST on a connection reset before the write: %d %s, want 200 ok on a fresh connection", st, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := seen["POST /pay"]; n != 1 {
		t.Fatalf("target read the POST %d times, want 1", n)
	}
}

// BenchmarkIdleCheck is what the idle check adds to a request on a
// pooled connection: one non-blocking peek at an open, idle socket.
func BenchmarkIdleCheck(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	conn, err := dialTracked(ln.Addr().String(), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	defer (<-accepted).Close()
	conn.SetDeadline(time.Now().Add(time.Hour)) //nolint:errcheck // a deadline in the future, as roundTrip sets it
	tc := conn.(*trackedConn)
	b.ReportAllocs()
	for b.Loop() {
		if tc.idle.peerClosed() {
			b.Fatal("an open connection was found closed")
		}
	}
}

func benchPostRequest() *fasthttp.Request {
	req := benchRequest()
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.SetBodyString(`{"amount":100,"to":"acct-7"}`)
	return req
}

// TestForwardPostAllocatesNothing: a POST, which goes through the idle
// check on its pooled connection, allocates nothing either.
func TestForwardPostAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	u, fc, r := forwardSetup(t, "round-robin")
	fc.Init(benchPostRequest(), &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}, nil)
	req := benchPostRequest()
	for range 10 {
		forwardOnce(t, u, fc, r, req)
	}
	if n := testing.AllocsPerRun(200, func() { forwardOnce(t, u, fc, r, req) }); n != 0 {
		t.Fatalf("got %v allocs per forwarded POST, want 0", n)
	}
}

// BenchmarkForwardPost is BenchmarkForward with a POST: the request that
// pays for the idle check.
func BenchmarkForwardPost(b *testing.B) {
	u, fc, r := forwardSetup(b, "round-robin")
	fc.Init(benchPostRequest(), &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}, nil)
	req := benchPostRequest()
	b.ReportAllocs()
	for b.Loop() {
		forwardOnce(b, u, fc, r, req)
	}
}
