package upstream

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/valyala/fasthttp"
)

func TestActiveChecksStopOnClose(t *testing.T) {
	var checks atomic.Int64
	var healthy atomic.Bool
	healthy.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/healthz" {
			checks.Add(1)
			if !healthy.Load() {
				ctx.SetStatusCode(500)
			}
		}
	}}
	go srv.Serve(ln) //nolint:errcheck // ends at Shutdown
	defer srv.Shutdown()
	cfg := &config.Upstream{Name: "u", Targets: []config.Target{{URL: "http://" + ln.Addr().String(), Weight: 1}}}
	cfg.SetDefaults()
	cfg.Health.Path = "/healthz"
	cfg.Health.Interval = config.Duration(50 * time.Millisecond)
	cfg.Health.UnhealthyThreshold = 2
	cfg.Health.HealthyThreshold = 2
	u, err := New(cfg, "upstreams[0]", nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := u.targets[0]
	wait := func(cond func() bool) bool {
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if cond() {
				return true
			}
		}
		return false
	}
	if !wait(func() bool { return checks.Load() >= 2 }) {
		t.Fatal("no active checks")
	}
	healthy.Store(false)
	if !wait(func() bool { return !tg.Up(time.Now().UnixNano()) }) {
		t.Fatal("failing checks did not take the target out")
	}
	// A passing check also ends a passive ejection.
	tg.ejectedUntil.Store(time.Now().Add(time.Hour).UnixNano())
	healthy.Store(true)
	if !wait(func() bool { return tg.Up(time.Now().UnixNano()) }) {
		t.Fatal("passing checks did not bring the ejected, unhealthy target back")
	}
	u.Close()
	after := checks.Load()
	time.Sleep(300 * time.Millisecond)
	if n := checks.Load(); n != after {
		t.Fatalf("%d checks after Close, want none", n-after)
	}
}

func TestResolveKeepsLastGoodAddresses(t *testing.T) {
	var fail atomic.Bool
	var lookups atomic.Int64
	old := lookupHost
	lookupHost = func(ctx context.Context, host string) ([]string, error) {
		lookups.Add(1)
		if fail.Load() {
			return nil, errors.New("dns down")
		}
		return old(ctx, host)
	}
	defer func() { lookupHost = old }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := &config.Upstream{Name: "u", Targets: []config.Target{{URL: "http://localhost:" + strconv.Itoa(port), Weight: 1}}}
	cfg.SetDefaults()
	cfg.ResolveInterval = config.Duration(time.Second)
	u, err := New(cfg, "upstreams[0]", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	tg := u.targets[0]
	good := *tg.addrs.Load()
	if len(good) == 0 {
		t.Fatal("localhost not resolved")
	}
	fail.Store(true)
	n := lookups.Load()
	for end := time.Now().Add(5 * time.Second); lookups.Load() == n && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	st := u.State().Targets[0]
	if st.ResolveError == "" {
		t.Fatal("failed resolution not reported")
	}
	if got := *tg.addrs.Load(); len(got) != len(good) || got[0] != good[0] {
		t.Fatalf("got addresses %v after a DNS failure, want the last good %v", got, good)
	}
	c, err := tg.dialTimeout(tg.Addr, time.Second)
	if err != nil {
		t.Fatalf("dial with the kept addresses: %v", err)
	}
	c.Close()
}
