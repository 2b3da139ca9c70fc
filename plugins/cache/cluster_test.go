package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/redistest"
	"github.com/moongate/moongate/plugins/cache/clustersync"
)

// clusterTOML is the configuration of a node of a test cluster: the route
// "r" on "/" with a cache step that accepts PURGE from loopback, and
// [redis] at addr. extra goes at the top.
func clusterTOML(upURL, addr, extra string) string {
	return gatewayTOML(upURL, `  purge = { ips = ["127.0.0.0/8"] }`, fmt.Sprintf("[redis]\naddresses = [%q]\n%s", addr, extra))
}

// cacheStatus sends GET path to g and returns its X-Cache-Status.
func cacheStatus(t *testing.T, g *gatewaytest.Gateway, path string) string {
	t.Helper()
	status, body, cs, _ := get(t, g, "GET", path)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return cs
}

// warm makes path a HIT on every node.
func warm(t *testing.T, nodes []*gatewaytest.Gateway, paths ...string) {
	t.Helper()
	for _, g := range nodes {
		for _, p := range paths {
			get(t, g, "GET", p)
			if cs := cacheStatus(t, g, p); cs != "HIT" {
				t.Fatalf("GET %s on %s: %s after a first GET, want HIT", p, g.URL, cs)
			}
		}
	}
}

// untilNotHit polls GET path on g (every millisecond, for at most 10s)
// until it is not served from the cache, and returns how long after
// start that was.
func untilNotHit(t *testing.T, g *gatewaytest.Gateway, path string, start time.Time) (time.Duration, bool) {
	deadline := start.Add(10 * time.Second)
	for {
		_, _, cs, _ := get(t, g, "GET", path)
		if cs != "HIT" {
			return time.Since(start), true
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(time.Millisecond)
	}
}

// clusterState reads GET /cache/cluster of g.
func clusterState(t *testing.T, g *gatewaytest.Gateway) clustersync.Stats {
	t.Helper()
	status, body, _ := gatewaytest.Do(t, "GET", g.AdminURL+"/cache/cluster", nil)
	var st struct {
		Enabled bool `json:"enabled"`
		clustersync.Stats
	}
	if err := json.Unmarshal(body, &st); err != nil || status != 200 || !st.Enabled {
		t.Fatalf("GET /cache/cluster: %d %s (%v)", status, body, err)
	}
	return st.Stats
}

// waitState polls GET /cache/cluster of g until cond holds (10s at most).
func waitState(t *testing.T, g *gatewaytest.Gateway, what string, cond func(clustersync.Stats) bool) clustersync.Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := clusterState(t, g)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gave up waiting for %s: %+v", g.URL, what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startNodes starts n gateways on toml, each reading the purge stream.
func startNodes(t *testing.T, n int, toml string) []*gatewaytest.Gateway {
	t.Helper()
	var nodes []*gatewaytest.Gateway
	for i := 0; i < n; i++ {
		g := gatewaytest.Start(t, toml)
		waitState(t, g, "the stream", func(st clustersync.Stats) bool { return st.Connected })
		nodes = append(nodes, g)
	}
	return nodes
}

// TestClusterPurgeReachesEveryNode is issue 14's §4 on three real nodes
// and one redis-server: every kind of purge made on one node (the admin
// API by URL, prefix, route, tag, tags and all; PURGE; an unsafe method)
// stops the other two from serving what it purged, and only that. The
// propagation time is logged (the bound here is a generous deadline, not
// the 100 ms the issue aims at: see docs/cluster.md for measurements).
func TestClusterPurgeReachesEveryNode(t *testing.T) {
	rd := redistest.Start(t)
	up := gatewaytest.StartUpstream(t, tagged())
	nodes := startNodes(t, 3, clusterTOML(up.URL, rd.Addr, ""))
	a := nodes[0]
	type purgeCase struct {
		name   string
		do     func()
		purged string // a path the purge drops
		kept   string // a path it leaves ("" for none)
	}
	admin := func(body string) func() { return func() { purge(t, a, body) } }
	method := func(m, path string) func() {
		return func() {
			if st, body, _ := gatewaytest.Do(t, m, a.URL+path, nil); st != 200 {
				t.Fatalf("%s %s: %d %s", m, path, st, body)
			}
		}
	}
	cases := []purgeCase{
		{"url", admin(`{"url": "/a/1"}`), "/a/1", "/a/2"},
		{"prefix", admin(`{"prefix": "/a/"}`), "/a/1", "/b/1"},
		{"route", admin(`{"route": "r"}`), "/a/1", ""},
		{"tag", admin(`{"tag": "a"}`), "/a/2", "/b/1"},
		{"tags", admin(`{"tags": ["b", "c"]}`), "/b/1", "/a/1"},
		{"all", admin(`{"all": true}`), "/b/1", ""},
		{"PURGE method", method("PURGE", "/a/1"), "/a/1", "/a/2"},
		{"unsafe method", method("POST", "/a/2"), "/a/2", "/a/1"},
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	for round := 0; round < 4; round++ {
		for _, tc := range cases {
			warm(t, nodes, "/a/1", "/a/2", "/b/1")
			start := time.Now()
			tc.do()
			if cs := cacheStatus(t, a, tc.purged); cs == "HIT" {
				t.Fatalf("%s: %s is still a HIT on the node that purged it", tc.name, tc.purged)
			}
			var wg sync.WaitGroup
			for _, g := range nodes[1:] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, ok := untilNotHit(t, g, tc.purged, start)
					if !ok {
						t.Errorf("%s: %s still served from the cache on %s 10s after the purge on %s", tc.name, tc.purged, g.URL, a.URL)
						return
					}
					mu.Lock()
					latencies = append(latencies, d)
					mu.Unlock()
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			for _, g := range nodes {
				if tc.kept != "" {
					if cs := cacheStatus(t, g, tc.kept); cs != "HIT" {
						t.Errorf("%s: %s on %s is %s, want HIT: the purge went beyond what it names", tc.name, tc.kept, g.URL, cs)
					}
				}
			}
		}
	}
	for i, g := range nodes {
		st := clusterState(t, g)
		if st.Gaps != 0 || st.ReadErrors != 0 || st.PublishErrors != 0 || !st.Connected {
			t.Errorf("node %d: %+v", i, st)
		}
		if i == 0 && (st.Applied != 0 || st.Published < uint64(len(cases)*4)) {
			t.Errorf("node 0 published %d purges and applied %d of its own, want %d and 0", st.Published, st.Applied, len(cases)*4)
		}
		if i > 0 && st.Applied < uint64(len(cases)*4) {
			t.Errorf("node %d applied %d purges, want %d at least", i, st.Applied, len(cases)*4)
		}
	}
	t.Logf("propagation (purge sent on one node → the other node stops serving the entry), %d samples: %s", len(latencies), distribution(latencies))
}

// distribution describes durations: min, median, p90, p99, max.
func distribution(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("min %s, median %s, p90 %s, p99 %s, max %s", r(s[0]), r(q(0.5)), r(q(0.9)), r(q(0.99)), r(s[len(s)-1]))
}

// TestClusterOwnPurgeAppliedOnce: a node reading its own purge back from
// the stream does not apply it again, so an entry it cached right after
// its purge is still served.
func TestClusterOwnPurgeAppliedOnce(t *testing.T) {
	rd := redistest.Start(t)
	up := gatewaytest.StartUpstream(t, tagged())
	nodes := startNodes(t, 2, clusterTOML(up.URL, rd.Addr, ""))
	a, b := nodes[0], nodes[1]
	warm(t, nodes, "/a/1")
	purge(t, a, `{"tag": "a"}`)
	expect(t, a, "/a/1", "MISS", 200, "") // cached again, after the purge
	waitState(t, b, "the purge", func(st clustersync.Stats) bool { return st.Applied == 1 })
	pos := clusterState(t, b).Position
	waitState(t, a, "a to read its own entry", func(st clustersync.Stats) bool { return st.Position == pos })
	expect(t, a, "/a/1", "HIT", 200, "")
	if st := clusterState(t, a); st.Applied != 0 {
		t.Errorf("a applied its own purge again: %+v", st)
	}
}

// TestClusterPurgeWhileRedisIsDown is issue 14's test: Redis stops, a
// purge is made on node A (applied there at once; the answer does not
// wait for Redis), Redis restarts (empty), and node B serves no purged
// entry. B cannot know what the lost stream held: it drops its cache.
func TestClusterPurgeWhileRedisIsDown(t *testing.T) {
	rd := redistest.Start(t)
	up := gatewaytest.StartUpstream(t, tagged())
	nodes := startNodes(t, 3, clusterTOML(up.URL, rd.Addr, ""))
	a, b := nodes[0], nodes[1]
	warm(t, nodes, "/a/1", "/b/1")

	rd.Stop()
	purge(t, a, `{"url": "/a/1"}`)
	expect(t, a, "/a/1", "MISS", 200, "")
	waitState(t, a, "the failed publish", func(st clustersync.Stats) bool { return st.PublishErrors > 0 && st.Queued == 1 })
	// Documented: while Redis is away, B keeps serving what it has.
	expect(t, b, "/a/1", "HIT", 200, "")

	rd.Restart()
	for _, g := range nodes[1:] {
		if _, ok := untilNotHit(t, g, "/a/1", time.Now()); !ok {
			t.Fatalf("%s still serves the purged /a/1 from its cache 10s after Redis came back", g.URL)
		}
		st := waitState(t, g, "the stream again", func(st clustersync.Stats) bool { return st.Connected })
		if st.Gaps == 0 {
			t.Errorf("%s: %+v, want the lost stream counted as a gap", g.URL, st)
		}
	}
	waitState(t, a, "the queued purge to be published", func(st clustersync.Stats) bool { return st.Queued == 0 && st.Published == 1 })
}

// cutter is a TCP proxy to Redis that the test can cut, as a network
// split between one node and Redis would.
type cutter struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func startCutter(t *testing.T, target string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); c.Cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			if c.cut {
				c.mu.Unlock()
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				c.mu.Unlock()
				in.Close()
				continue
			}
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

func (c *cutter) Addr() string { return c.ln.Addr().String() }

// Cut closes every connection and refuses new ones.
func (c *cutter) Cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = true
	for _, x := range c.conns {
		x.Close()
	}
	c.conns = nil
}

// Restore lets connections through again.
func (c *cutter) Restore() {
	c.mu.Lock()
	c.cut = false
	c.mu.Unlock()
}

// TestClusterNodeCutOffReplaysOrDrops: a node cut off from Redis (the
// others still reach it) keeps serving; when it is back it applies the
// purges it missed and keeps the rest of its cache. Cut off for longer
// than the stream keeps purges (max_len), it drops its whole cache.
func TestClusterNodeCutOffReplaysOrDrops(t *testing.T) {
	rd := redistest.Start(t)
	proxy := startCutter(t, rd.Addr)
	up := gatewaytest.StartUpstream(t, tagged())
	extra := "[cache.cluster]\nmax_len = 100\n"
	a := startNodes(t, 1, clusterTOML(up.URL, rd.Addr, extra))[0]
	b := startNodes(t, 1, clusterTOML(up.URL, proxy.Addr(), extra))[0]
	warm(t, []*gatewaytest.Gateway{b}, "/a/1", "/b/1")

	proxy.Cut()
	waitState(t, b, "b to lose the stream", func(st clustersync.Stats) bool { return !st.Connected })
	purge(t, a, `{"url": "/a/1"}`)
	waitState(t, a, "the publish", func(st clustersync.Stats) bool { return st.Published == 1 })
	expect(t, b, "/a/1", "HIT", 200, "") // documented: it cannot know yet
	proxy.Restore()
	if _, ok := untilNotHit(t, b, "/a/1", time.Now()); !ok {
		t.Fatal("b still serves /a/1 10s after it could read the stream again")
	}
	st := waitState(t, b, "the replay", func(st clustersync.Stats) bool { return st.Connected && st.Replayed == 1 })
	if st.Gaps != 0 {
		t.Errorf("b: %+v, want the missed purge replayed without a gap", st)
	}
	expect(t, b, "/b/1", "HIT", 200, "") // the rest of the cache is kept

	proxy.Cut()
	waitState(t, b, "b to lose the stream", func(st clustersync.Stats) bool { return !st.Connected })
	for i := 0; i < 300; i++ {
		purge(t, a, `{"url": "/z/`+strconv.Itoa(i)+`"}`)
	}
	waitState(t, a, "the publishes", func(st clustersync.Stats) bool { return st.Published == 301 })
	expect(t, b, "/b/1", "HIT", 200, "")
	proxy.Restore()
	if _, ok := untilNotHit(t, b, "/b/1", time.Now()); !ok {
		t.Fatal("b kept its cache after missing purges that left the stream")
	}
	if st := waitState(t, b, "the stream", func(st clustersync.Stats) bool { return st.Connected }); st.Gaps != 1 {
		t.Errorf("b: %+v, want one gap", st)
	}
}

// TestClusterPurgeAcrossReloads: reloads rebuild the cache steps, but a
// node keeps one reader of the stream and its place in it (no drop), and
// purges keep reaching it.
func TestClusterPurgeAcrossReloads(t *testing.T) {
	rd := redistest.Start(t)
	up := gatewaytest.StartUpstream(t, tagged())
	toml := clusterTOML(up.URL, rd.Addr, "")
	nodes := startNodes(t, 2, toml)
	a, b := nodes[0], nodes[1]
	warm(t, nodes, "/a/1", "/b/1")
	before := clusterState(t, b)
	for i := 0; i < 3; i++ {
		b.Rewrite(t, strings.Replace(toml, `timeout = "5s"`, `timeout = "`+strconv.Itoa(5+i)+`s"`, 1))
		if res := b.Reload(); !res.OK {
			t.Fatalf("reload: %v", res.Messages)
		}
	}
	expect(t, b, "/b/1", "HIT", 200, "")
	if st := clusterState(t, b); st.Node != before.Node || st.Gaps != 0 || st.Position != before.Position || !st.Connected {
		t.Errorf("after the reloads: %+v, was %+v", st, before)
	}
	// One reader per node: both are blocked in XREAD (but for a moment
	// between two reads), never more.
	deadline := time.Now().Add(10 * time.Second)
	for n := blockedClients(t, rd.Addr); n != 2; n = blockedClients(t, rd.Addr) {
		if n > 2 || time.Now().After(deadline) {
			t.Fatalf("%d clients read the stream, want 2 (one per node)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 10 {
		if n := blockedClients(t, rd.Addr); n > 2 {
			t.Fatalf("%d clients read the stream, want 2 (one per node)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	purge(t, a, `{"url": "/a/1"}`)
	if _, ok := untilNotHit(t, b, "/a/1", time.Now()); !ok {
		t.Fatal("a purge after the reloads did not reach b")
	}
}

// blockedClients returns the number of clients blocked (XREAD BLOCK) on
// the Redis at addr.
func blockedClients(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "INFO clients\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	k, _ := c.Read(buf)
	for _, line := range strings.Split(string(buf[:k]), "\r\n") {
		if v, ok := strings.CutPrefix(line, "blocked_clients:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("no blocked_clients in INFO: %q", buf[:k])
	return 0
}

// TestClusterPurgesMissedWhileStopped: a node with a saved cache ([cache]
// file) saves its place in the stream with its entries; restarted, it
// applies the purges made while it was stopped and keeps the rest.
func TestClusterPurgesMissedWhileStopped(t *testing.T) {
	rd := redistest.Start(t)
	up := gatewaytest.StartUpstream(t, tagged())
	a := startNodes(t, 1, clusterTOML(up.URL, rd.Addr, ""))[0]
	dir := t.TempDir()
	// key_host = false: the restarted node listens on another port, and
	// the Host of the requests names it.
	toml := gatewayTOML(up.URL, "  key_host = false",
		fmt.Sprintf("[redis]\naddresses = [%q]\n[cache]\nfile = %q\n", rd.Addr, filepath.Join(dir, "cache")))
	b := startStoppable(t, toml)
	waitState(t, b.Gateway, "the stream", func(st clustersync.Stats) bool { return st.Connected })
	warm(t, []*gatewaytest.Gateway{b.Gateway}, "/a/1", "/b/1")
	b.stop(t)

	purge(t, a, `{"url": "/a/1"}`)
	waitState(t, a, "the publish", func(st clustersync.Stats) bool { return st.Published == 1 })

	b = startStoppable(t, toml)
	waitState(t, b.Gateway, "the stream", func(st clustersync.Stats) bool { return st.Connected })
	expect(t, b.Gateway, "/b/1", "HIT", 200, "")  // loaded, and kept
	expect(t, b.Gateway, "/a/1", "MISS", 200, "") // purged while b was stopped
	if st := clusterState(t, b.Gateway); st.Replayed != 1 || st.Gaps != 0 {
		t.Errorf("b after its restart: %+v, want the purge replayed and no gap", st)
	}
}

// stoppable is a gateway the test stops (and starts again) itself.
type stoppable struct {
	*gatewaytest.Gateway
	once sync.Once
}

func startStoppable(t *testing.T, toml string) *stoppable {
	t.Helper()
	file := filepath.Join(t.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(gatewaytest.WithTestListeners(toml)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, gatewaytest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	s := &stoppable{Gateway: &gatewaytest.Gateway{Gateway: g, File: file, URL: "http://" + g.Addrs()[0], AdminURL: "http://" + g.AdminAddr()}}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *stoppable) stop(t *testing.T) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
}
