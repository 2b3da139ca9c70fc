package gateway

import (
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// The rule of the quiet check: give memory back only when the heap was
// quiet over the tick and holds more than quietSlack to give.
func TestWorthReleasing(t *testing.T) {
	base := heapState{allocs: 1 << 30, goroutines: 5000}
	for _, tc := range []struct {
		name      string
		prev, cur heapState
		want      bool
	}{
		{"quiet, nothing since the last release", base, base, false},
		{"quiet after a burst of allocations", heapState{allocs: base.allocs + 64<<20, goroutines: 5000}, heapState{allocs: base.allocs + 64<<20 + 1000, goroutines: 5000}, true},
		{"quiet after a burst of goroutines ended", heapState{allocs: base.allocs, goroutines: 20}, heapState{allocs: base.allocs, goroutines: 20}, true},
		{"busy: a collection is on its way", heapState{allocs: base.allocs + 64<<20, goroutines: 5000}, heapState{allocs: base.allocs + 72<<20, goroutines: 5000}, false},
		{"quiet after a burst of connections parked", heapState{allocs: base.allocs, goroutines: 5000, parks: 3000}, heapState{allocs: base.allocs, goroutines: 5000, parks: 3000}, true},
		{"quiet, a little allocated, a few goroutines ended, a few connections parked", base, heapState{allocs: base.allocs + 1<<20, goroutines: 4990, parks: 10}, false},
	} {
		if got := worthReleasing(base, tc.prev, tc.cur); got != tc.want {
			t.Errorf("%s: worthReleasing = %v, want %v", tc.name, got, tc.want)
		}
	}
}

var sink [][]byte

// After a burst of parked connections, a quiet process gets its garbage
// collected and given back within a few ticks, without any allocation of
// its own to start a collection; once given back, it is not collected
// again while it stays quiet.
func TestReleaseWhenQuietGivesGarbageBack(t *testing.T) {
	// 64 MB of garbage in 64 KB pieces.
	for i := 0; i < 1024; i++ {
		sink = append(sink, make([]byte, 64<<10))
	}
	sink = nil
	var parks atomic.Uint64
	var releases atomic.Int32
	stop := make(chan struct{})
	defer close(stop)
	go releaseWhenQuiet(stop, 20*time.Millisecond, parks.Load, func() {
		releasePooled()
		releases.Add(1) // counted once done: the test reads the heap after it
	})
	time.Sleep(100 * time.Millisecond)
	if n := releases.Load(); n != 0 {
		t.Fatalf("%d releases before any burst, want 0", n)
	}
	parks.Add(quietConns) // the burst's connections go idle
	deadline := time.Now().Add(5 * time.Second)
	for releases.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a quiet process holding 64 MB of garbage did not give it back after a burst of parks")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if garbage := heapGarbage(); garbage > quietSlack {
		t.Fatalf("after the release the heap holds %d MB of garbage", garbage>>20)
	}
	time.Sleep(300 * time.Millisecond)
	if n := releases.Load(); n != 1 {
		t.Fatalf("%d releases in a quiet process after one burst, want 1", n)
	}
}

// heapGarbage returns the bytes of the heap's objects that were not live
// at the last collection.
func heapGarbage() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	objects, live := s[0].Value.Uint64(), s[1].Value.Uint64()
	return objects - min(objects, live)
}
