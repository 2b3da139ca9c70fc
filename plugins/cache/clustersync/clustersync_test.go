package clustersync_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/redisconn"
	"github.com/moongate/moongate/core/redistest"
	"github.com/moongate/moongate/plugins/cache/clustersync"
	"github.com/redis/go-redis/v9"
)

// recorder is a Handler that records what it is told.
type recorder struct {
	mu      sync.Mutex
	ops     []clustersync.Op
	drops   int
	holding bool // MayHoldEntries
}

func (r *recorder) Apply(op clustersync.Op) { r.mu.Lock(); r.ops = append(r.ops, op); r.mu.Unlock() }
func (r *recorder) DropAll()                { r.mu.Lock(); r.drops++; r.mu.Unlock() }
func (r *recorder) MayHoldEntries() bool    { r.mu.Lock(); defer r.mu.Unlock(); return r.holding }

func (r *recorder) got() ([]clustersync.Op, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]clustersync.Op(nil), r.ops...), r.drops
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// client is the shared client a gateway builds from [redis] for addr.
func client(t *testing.T, addr string) redis.UniversalClient {
	t.Helper()
	c, err := redisconn.New(redisconn.Options{Addresses: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// node is one gateway's Sync, attached to rc, detached when the test ends.
type node struct {
	*clustersync.Sync
	h      *recorder
	log    *logBuffer
	detach func()
}

func newNode(t *testing.T, rc redis.UniversalClient, o clustersync.Options) *node {
	t.Helper()
	n := &node{h: &recorder{}, log: &logBuffer{}}
	if o.Stream == "" {
		o.Stream = "test:purges"
	}
	o.Logger = slog.New(slog.NewTextHandler(n.log, nil))
	o.Block = 500 * time.Millisecond
	o.RetryMax = 100 * time.Millisecond
	n.Sync = clustersync.New(o, n.h, clustersync.Position{})
	if rc != nil {
		n.attach(t, rc)
	}
	t.Cleanup(func() {
		if n.detach != nil {
			n.detach()
		}
		if t.Failed() {
			t.Logf("log of node %s:\n%s", n.Node(), n.log.String())
		}
	})
	return n
}

func (n *node) attach(t *testing.T, rc redis.UniversalClient) {
	t.Helper()
	n.detach = n.Attach(rc)
	waitFor(t, "the node to read the stream", func() bool { return n.Stats().Connected })
}

func (n *node) stop() {
	n.detach()
	n.detach = nil
}

// waitFor polls cond every 5ms for at most 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func opsEqual(a, b []clustersync.Op) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPurgeReachesTheOtherNodesOnce: a purge published on a is applied by
// b and c, in order, and never by a itself (it applied it before
// publishing); no node drops anything.
func TestPurgeReachesTheOtherNodesOnce(t *testing.T) {
	rd := redistest.Start(t)
	rc := client(t, rd.Addr)
	a, b, c := newNode(t, rc, clustersync.Options{}), newNode(t, rc, clustersync.Options{}), newNode(t, rc, clustersync.Options{})
	want := []clustersync.Op{{Kind: "url", Key: "/x"}, {Kind: "tag", Key: "t1"}, {Kind: "prefix", Key: "/p/"}}
	for _, op := range want {
		a.Publish(op)
	}
	for _, n := range []*node{b, c} {
		waitFor(t, "the purges on the other nodes", func() bool { ops, _ := n.h.got(); return len(ops) >= len(want) })
		if ops, drops := n.h.got(); !opsEqual(ops, want) || drops != 1 {
			// The one drop is the first contact's, which is free (an empty cache).
			t.Errorf("node %s applied %v with %d drops, want %v and the start's drop", n.Node(), ops, drops, want)
		}
		if st := n.Stats(); st.Applied != 3 || st.Gaps != 0 || st.Replayed != 0 {
			t.Errorf("node %s: %+v", n.Node(), st)
		}
	}
	// a reads its own entries back: wait until it is past them.
	waitFor(t, "a to read its own entries", func() bool { return a.Position() == b.Position() })
	if ops, _ := a.h.got(); len(ops) != 0 {
		t.Errorf("a applied its own purges again: %v", ops)
	}
	if st := a.Stats(); st.Published != 3 || st.Applied != 0 || st.Queued != 0 {
		t.Errorf("a: %+v", st)
	}
}

// TestReconnectReplaysMissedPurges: a node that could not read the stream
// while purges were made reads them when it is back, without dropping
// anything.
func TestReconnectReplaysMissedPurges(t *testing.T) {
	rd := redistest.Start(t)
	rc := client(t, rd.Addr)
	a, b := newNode(t, rc, clustersync.Options{}), newNode(t, rc, clustersync.Options{})
	b.stop()
	want := []clustersync.Op{{Kind: "url", Key: "/1"}, {Kind: "url", Key: "/2"}, {Kind: "route", Key: "r"}}
	for _, op := range want {
		a.Publish(op)
	}
	waitFor(t, "a to publish", func() bool { return a.Stats().Published == 3 })
	_, dropsBefore := b.h.got()
	b.attach(t, rc)
	if ops, drops := b.h.got(); !opsEqual(ops, want) || drops != dropsBefore {
		t.Errorf("b replayed %v with %d new drops, want %v and none", ops, drops-dropsBefore, want)
	}
	if st := b.Stats(); st.Replayed != 3 || st.Applied != 3 || st.Gaps != 0 {
		t.Errorf("b: %+v", st)
	}
}

// TestTrimmedPurgesDropEverything: a node away for more purges than the
// stream keeps cannot replay them: it drops everything, says so, and goes
// on applying the purges after.
func TestTrimmedPurgesDropEverything(t *testing.T) {
	rd := redistest.Start(t)
	rc := client(t, rd.Addr)
	o := clustersync.Options{MaxLen: 100, Batch: 50}
	a, b := newNode(t, rc, o), newNode(t, rc, o)
	b.stop()
	for i := 0; i < 600; i++ {
		a.Publish(clustersync.Op{Kind: "url", Key: "/" + strconv.Itoa(i)})
	}
	waitFor(t, "a to publish", func() bool { return a.Stats().Published == 600 })
	if n, err := rc.XLen(context.Background(), "test:purges").Result(); err != nil || n >= 600 {
		t.Fatalf("the stream holds %d entries (%v): not trimmed", n, err)
	}
	_, dropsBefore := b.h.got()
	b.attach(t, rc)
	if _, drops := b.h.got(); drops != dropsBefore+1 {
		t.Errorf("b dropped %d times after missing trimmed purges, want once", drops-dropsBefore)
	}
	if st := b.Stats(); st.Gaps != 1 {
		t.Errorf("b: %+v, want 1 gap", st)
	}
	if !strings.Contains(b.log.String(), "left the stream before this node read them") {
		t.Errorf("b did not log the gap:\n%s", b.log.String())
	}
	// Back in step: the next purge is applied, with no other drop.
	applied := b.Stats().Applied
	a.Publish(clustersync.Op{Kind: "tag", Key: "after"})
	waitFor(t, "the purge after the gap", func() bool { return b.Stats().Applied == applied+1 })
	if ops, drops := b.h.got(); ops[len(ops)-1] != (clustersync.Op{Kind: "tag", Key: "after"}) || drops != dropsBefore+1 {
		t.Errorf("after the gap b applied %v and dropped %d times", ops[len(ops)-1], drops-dropsBefore)
	}
}

// TestRedisRestartedPurgeWhileDown is issue 14's test at the level of the
// stream: Redis stops, a purges (it cannot publish: the purge waits), Redis
// comes back empty, and b, which cannot know what the lost stream held,
// drops everything; a's purge is then published and read by b.
func TestRedisRestartedPurgeWhileDown(t *testing.T) {
	rd := redistest.Start(t)
	rc := client(t, rd.Addr)
	a, b := newNode(t, rc, clustersync.Options{}), newNode(t, rc, clustersync.Options{})
	a.Publish(clustersync.Op{Kind: "url", Key: "/before"})
	waitFor(t, "the first purge", func() bool { return b.Stats().Applied == 1 })
	_, dropsBefore := b.h.got()

	rd.Stop()
	a.Publish(clustersync.Op{Kind: "url", Key: "/while-down"})
	waitFor(t, "a to fail to publish", func() bool { return a.Stats().PublishErrors > 0 })
	waitFor(t, "b to notice", func() bool { return !b.Stats().Connected })
	if st := a.Stats(); st.Queued+int(st.Published) != 2 || st.Published != 1 {
		t.Errorf("a while Redis is down: %+v, want the purge waiting", st)
	}
	rd.Restart()
	waitFor(t, "a to publish again", func() bool { return a.Stats().Published == 2 })
	waitFor(t, "b to read again", func() bool { return b.Stats().Connected })
	if _, drops := b.h.got(); drops <= dropsBefore {
		t.Error("b did not drop its cache after the stream was lost")
	}
	if st := b.Stats(); st.Gaps == 0 || st.ReadErrors == 0 {
		t.Errorf("b: %+v, want a gap and read errors", st)
	}
	for _, want := range []string{"redis failed, this node keeps serving", "redis answers again", "the purge stream was lost"} {
		if !strings.Contains(b.log.String()+a.log.String(), want) {
			t.Errorf("no %q in the logs:\nb: %s\na: %s", want, b.log.String(), a.log.String())
		}
	}
}

// TestFullQueueBecomesPurgeOfEverything: purges that find the publishing
// queue full are not lost: the other nodes get one purge of everything.
func TestFullQueueBecomesPurgeOfEverything(t *testing.T) {
	rd := redistest.Start(t)
	rc := client(t, rd.Addr)
	b := newNode(t, rc, clustersync.Options{})
	a := newNode(t, nil, clustersync.Options{QueueSize: 4}) // not attached: nothing publishes
	for i := 0; i < 10; i++ {
		a.Publish(clustersync.Op{Kind: "url", Key: "/" + strconv.Itoa(i)})
	}
	if st := a.Stats(); st.QueueFull != 6 || st.Queued != 4 {
		t.Fatalf("a: %+v, want 6 purges over a queue of 4", st)
	}
	a.attach(t, rc)
	waitFor(t, "b to apply", func() bool { return b.Stats().Applied > 0 })
	waitFor(t, "a to empty its queue", func() bool { return a.Stats().Queued == 0 })
	if ops, _ := b.h.got(); !opsEqual(ops, []clustersync.Op{{Kind: clustersync.KindAll}}) {
		t.Errorf("b applied %v, want one purge of everything", ops)
	}
}

// TestFirstContactWithEntriesDrops: a node that cached entries before it
// first read the stream (it started while Redis was away) drops them and
// counts it; a node with nothing cached counts nothing.
func TestFirstContactWithEntriesDrops(t *testing.T) {
	rd := redistest.Start(t)
	rc := client(t, rd.Addr)
	n := newNode(t, nil, clustersync.Options{})
	n.h.holding = true
	n.attach(t, rc)
	if _, drops := n.h.got(); drops != 1 || n.Stats().Gaps != 1 {
		t.Errorf("%d drops, %+v; want one drop, counted", drops, n.Stats())
	}
	m := newNode(t, rc, clustersync.Options{})
	if m.Stats().Gaps != 0 {
		t.Errorf("an empty node counted a gap: %+v", m.Stats())
	}
}

// TestMaxOfflineDropsWhileRedisIsAway: with max_offline, a node cut off
// from Redis drops its cache after that long, and again while it lasts.
func TestMaxOfflineDropsWhileRedisIsAway(t *testing.T) {
	rd := redistest.Start(t)
	rc := client(t, rd.Addr)
	n := newNode(t, rc, clustersync.Options{MaxOffline: 100 * time.Millisecond})
	_, before := n.h.got()
	rd.Stop()
	waitFor(t, "two drops for max_offline", func() bool { return n.Stats().OfflineDrops >= 2 })
	if _, drops := n.h.got(); drops < before+2 {
		t.Errorf("%d drops, want at least 2", drops-before)
	}
	if st := n.Stats(); st.Connected || st.OfflineSince == nil {
		t.Errorf("%+v: want offline since some time", st)
	}
	if !strings.Contains(n.log.String(), "longer than max_offline") {
		t.Errorf("no log line:\n%s", n.log.String())
	}
}

// blocked returns how many clients of rd are blocked (XREAD BLOCK).
func blocked(t *testing.T, rc redis.UniversalClient) int {
	t.Helper()
	info, err := rc.Info(context.Background(), "clients").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "blocked_clients:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("no blocked_clients in %q", info)
	return 0
}

// TestOneSubscriberWhateverTheAttachments: the steps of successive
// configurations attach to one Sync: one reader of the stream while any
// is attached, its place kept from one to the next, none after the last.
func TestOneSubscriberWhateverTheAttachments(t *testing.T) {
	rd := redistest.Start(t)
	rc := client(t, rd.Addr)
	other := client(t, rd.Addr)
	a := newNode(t, other, clustersync.Options{})
	n := newNode(t, rc, clustersync.Options{})
	second := n.Attach(rc) // a reload's new step, before the old one goes
	waitFor(t, "one reader each", func() bool { return blocked(t, other) == 2 })
	n.stop() // the old step's Cleanup
	a.Publish(clustersync.Op{Kind: "url", Key: "/x"})
	waitFor(t, "the purge", func() bool { return n.Stats().Applied == 1 })
	if st := n.Stats(); !st.Connected || st.Gaps != 0 {
		t.Errorf("after the handover: %+v", st)
	}
	waitFor(t, "both readers blocked again", func() bool { return blocked(t, other) == 2 })
	for range 10 {
		if got := blocked(t, other); got > 2 {
			t.Fatalf("%d clients blocked on the stream, want 2 (one per node)", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	second()
	if n.Running() {
		t.Error("still running after the last detach")
	}
	waitFor(t, "a's reader alone", func() bool { return blocked(t, other) == 1 })
	// Attached again (a configuration with a cache step again): it goes on
	// from its place, replaying what it missed.
	a.Publish(clustersync.Op{Kind: "url", Key: "/y"})
	waitFor(t, "a to publish", func() bool { return a.Stats().Published == 2 })
	n.attach(t, rc)
	if st := n.Stats(); st.Applied != 2 || st.Replayed != 1 || st.Gaps != 0 {
		t.Errorf("attached again: %+v", st)
	}
}

// TestOnRedisCluster: with a Cluster client (no connection of its own to
// read with), purges go through the same way; the stream is one key, in
// one hash slot.
func TestOnRedisCluster(t *testing.T) {
	srv := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	ctx := context.Background()
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer direct.Close()
	if err := direct.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cluster_state:ok", func() bool {
		info, _ := direct.ClusterInfo(ctx).Result()
		return strings.Contains(info, "cluster_state:ok")
	})
	rc, err := redisconn.New(redisconn.Options{Addresses: []string{srv.Addr}, Cluster: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	if _, ok := rc.(*redis.ClusterClient); !ok {
		t.Fatalf("client %T, want a *redis.ClusterClient", rc)
	}
	a, b := newNode(t, rc, clustersync.Options{}), newNode(t, rc, clustersync.Options{})
	a.Publish(clustersync.Op{Kind: "prefix", Key: "/p/"})
	waitFor(t, "the purge on b", func() bool { return b.Stats().Applied == 1 })
	if ops, _ := b.h.got(); !opsEqual(ops, []clustersync.Op{{Kind: "prefix", Key: "/p/"}}) {
		t.Errorf("b applied %v", ops)
	}
	b.stop()
	if b.Running() {
		t.Error("b still runs after its last detach")
	}
}
