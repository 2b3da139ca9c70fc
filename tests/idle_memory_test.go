//go:build linux

package tests

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// rssKB returns the resident memory of process pid, in KB.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// TestBurstOfIdleConnectionsGivesMemoryBack: the real binary, a burst of
// 4 000 keep-alive connections that each send one request and then stay
// open and silent. The connections park, and once the gateway is quiet
// it gives back what serving the burst took, within seconds (before, the
// process kept it until Go's forced collection, two minutes later): its
// RSS falls back to within 5 KB per idle connection of where it started
// (measured: ~3.5 KB, and ~9 KB that stayed for minutes before).
// The connections all stay open.
func TestBurstOfIdleConnectionsGivesMemoryBack(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 4 000 connections")
	}
	const n = 4000
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil || lim.Cur < n+1000 {
		t.Skipf("needs %d open files, the limit is %d", n+1000, lim.Cur)
	}
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.WriteString("ok") })
	p := startBin(t, `
[server]
listen = "127.0.0.1:0"
idle_timeout = "300s"
[admin]
listen = ""
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
`)
	pid := p.cmd.Process.Pid
	if st, _, _ := gt.Do(t, "GET", "http://"+p.listen+"/", nil); st != 200 {
		t.Fatalf("first request: %d", st)
	}
	time.Sleep(500 * time.Millisecond)
	before := rssKB(t, pid)

	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 256) // dials at a time
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", p.listen, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
				errs <- err
				return
			}
			var resp fasthttp.Response
			if err := resp.Read(bufio.NewReader(c)); err != nil || resp.StatusCode() != 200 {
				errs <- fmt.Errorf("status %d, %v", resp.StatusCode(), err)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatalf("a connection of the burst: %v", err)
	}
	peak := rssKB(t, pid)

	limit := before + n*5 // KB
	deadline := time.Now().Add(15 * time.Second)
	var now int
	for {
		if now = rssKB(t, pid); now <= limit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("RSS %d KB before, %d KB after the burst of %d connections, still %d KB 15 s later; want at most %d KB (5 KB per idle connection)",
				before, peak, n, now, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("RSS %d KB before, %d KB after the burst of %d connections, %d KB once quiet", before, peak, n, now)

	// Every connection is still open and served.
	for _, i := range []int{0, n / 2, n - 1} {
		c := conns[i]
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatalf("connection %d after the quiet: %v", i, err)
		}
		var resp fasthttp.Response
		if err := resp.Read(bufio.NewReader(c)); err != nil || resp.StatusCode() != 200 {
			t.Fatalf("connection %d after the quiet: status %d, %v", i, resp.StatusCode(), err)
		}
	}
}
