package marks_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/marks"
	"github.com/moongate/moongate/core/redistest"
	"github.com/moongate/moongate/core/store"
	"github.com/redis/go-redis/v9"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// node is a Set as one gateway node has it: its own store, the shared
// Redis.
func node(rc redis.UniversalClient, log *logBuffer) *marks.Set {
	return marks.New(marks.Options{What: "test marks", Local: store.New(store.MinSize).Namespace("m"), Redis: rc,
		Prefix: "test:", Timeout: 2 * time.Second, RetryInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(log, nil))})
}

// TestMarksAcrossNodes: a mark made on one node holds on another through
// Redis; of many nodes adding one key at once, exactly one gets true.
func TestMarksAcrossNodes(t *testing.T) {
	rd := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rc.Close() })
	var log logBuffer
	a, b := node(rc, &log), node(rc, &log)
	if !a.Add([]byte("sig1"), time.Minute) || b.Add([]byte("sig1"), time.Minute) || a.Add([]byte("sig1"), time.Minute) {
		t.Error("sig1: want new on a, then seen on b and on a")
	}
	if b.Has([]byte("s1"), time.Minute) {
		t.Error("s1 marked before any Put")
	}
	a.Put([]byte("s1"), time.Minute)
	if !b.Has([]byte("s1"), time.Minute) || !a.Has([]byte("s1"), time.Minute) {
		t.Error("s1 put on a: not seen on both nodes")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 16 {
		n := node(rc, &log)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n.Add([]byte("race"), time.Minute) {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d nodes added the same key, want 1", won)
	}
	if st := a.Stats(); st.Errors != 0 || st.Fallbacks != 0 || st.Down {
		t.Errorf("stats %+v, want no errors", st)
	}
}

// TestMarksWithoutRedis: while Redis is away each node decides on its own
// marks, counts it and logs it (once at the failure, then at most every
// LogInterval); when Redis is back the marks are shared again.
func TestMarksWithoutRedis(t *testing.T) {
	rd := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rc.Close() })
	var log logBuffer
	a, b := node(rc, &log), node(rc, &log)
	rd.Stop()
	for i := range 50 {
		if !a.Add([]byte("k"+string(rune('a'+i%26))+string(rune('a'+i/26))), time.Minute) {
			t.Fatal("a new key refused while Redis is down")
		}
	}
	if a.Add([]byte("kaa"), time.Minute) {
		t.Error("a repeat on the same node accepted while Redis is down")
	}
	if !b.Add([]byte("kaa"), time.Minute) {
		t.Error("node b refused a key it never saw, with Redis down")
	}
	st := a.Stats()
	if !st.Down || st.Errors == 0 || st.Fallbacks < 50 {
		t.Errorf("stats while down: %+v", st)
	}
	if n := strings.Count(log.String(), "redis failed"); n != 2 {
		t.Errorf("%d lines about the failure (one per node), want 2:\n%s", n, log.String())
	}
	if n := strings.Count(log.String(), "still deciding without redis"); n > 2 {
		t.Errorf("%d reminders within a few ms, want at most one per node per %v:\n%s", n, marks.LogInterval, log.String())
	}

	rd.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for a.Stats().Down {
		if time.Now().After(deadline) {
			t.Fatalf("still down 10s after Redis came back: %+v", a.Stats())
		}
		a.Put([]byte("probe"), time.Minute)
		time.Sleep(30 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "redis answers again") {
		t.Errorf("no line about Redis answering again:\n%s", log.String())
	}
	a.Put([]byte("after"), time.Minute)
	if !b.Has([]byte("after"), time.Minute) {
		t.Error("a mark made after the recovery is not seen on node b")
	}
}
