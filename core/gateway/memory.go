package gateway

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// After a large configuration load, the gateway gives the memory the load
// used and no longer needs back to the OS at once: the parse of a million
// [[consumers]] is about a gigabyte of TOML tree for a moment, which would
// otherwise stay in the process's RSS until the runtime's scavenger
// returns it, minutes later. It costs one garbage collection, made when
// the gateway starts, when a reload has swapped its runtime in and when
// the runtime it replaced has been closed. Small loads (most) skip it.

// largeLoad is what a load must allocate to be given back at once.
const largeLoad = 64 << 20

// allocated returns the bytes allocated on the heap so far, to measure a
// load by.
func allocated() uint64 { return readHeap().allocs }

// large reports whether the heap allocated since mark (allocated) makes a
// large load.
func large(mark uint64) bool { return allocated()-mark > largeLoad }

// releaseMemory gives the heap's free memory back to the OS.
func releaseMemory() { debug.FreeOSMemory() }

// releasePooled is releaseMemory after one more collection: what the
// sync.Pools held (fasthttp's request contexts and buffers, the gateway's
// own) survives one collection in the pools' victim caches, and is freed
// by the second.
func releasePooled() {
	runtime.GC()
	debug.FreeOSMemory()
}

// A burst of connections leaves memory behind once they go idle: the
// buffers, request contexts and goroutine stacks that served them are
// garbage as soon as the connections park (idle.go), but a quiet gateway
// allocates nothing, so no garbage collection comes to free them, and the
// process's RSS stays at the burst's peak until the runtime's forced
// collection, two minutes later, and its scavenger after it (10 000
// connections opened at once, then idle: ~75 MB instead of ~50). The
// gateway checks the heap once per quietTick and, when it has allocated
// little since the last check (quiet: no collection is on its way) after
// a burst (since it last gave memory back: quietSlack allocated,
// quietConns connections parked, or as many goroutines ended), collects
// twice (what sync.Pools hold survives one collection) and gives the
// memory back at once. A busy gateway does not (its own collections do
// the work); a quiet one pays two collections per burst, never more than
// once per quietSpacing ticks.
const (
	quietTick    = time.Second
	quietAllocs  = 1 << 20  // bytes allocated in one tick below which the heap is quiet
	quietSlack   = 16 << 20 // bytes allocated since the last release that make a burst
	quietConns   = 1000     // connections parked, or goroutines ended, since the last release that make a burst
	quietSpacing = 10       // ticks at least between two releases
)

// heapState is what the quiet check reads from the runtime.
type heapState struct {
	allocs     uint64 // bytes allocated so far
	goroutines uint64 // goroutines alive
	parks      uint64 // connections parked so far
}

func readHeap() heapState {
	var s [2]metrics.Sample
	s[0].Name, s[1].Name = "/gc/heap/allocs:bytes", "/sched/goroutines:goroutines"
	metrics.Read(s[:])
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return heapState{allocs: v(0), goroutines: v(1)}
}

// worthReleasing reports whether the heap was quiet from prev to cur (one
// tick apart) after a burst since base, the state after the last release.
func worthReleasing(base, prev, cur heapState) bool {
	if cur.allocs-prev.allocs >= quietAllocs {
		return false
	}
	return cur.allocs-base.allocs >= quietSlack || cur.parks-base.parks >= quietConns ||
		base.goroutines >= cur.goroutines+quietConns
}

// releaseWhenQuiet checks the heap every tick until stop is closed, and
// gives memory back (release) when worthReleasing says so. parks returns
// how many connections were parked so far.
func releaseWhenQuiet(stop <-chan struct{}, tick time.Duration, parks func() uint64, release func()) {
	t := time.NewTicker(tick)
	defer t.Stop()
	read := func() heapState {
		h := readHeap()
		h.parks = parks()
		return h
	}
	base := read()
	prev := base
	since := quietSpacing // ticks since the last release
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		since++
		cur := read()
		if since >= quietSpacing && worthReleasing(base, prev, cur) {
			since = 0
			release()
			cur = read()
			base = cur
		} else if cur.goroutines > base.goroutines {
			base.goroutines = cur.goroutines // a burst's peak: its end counts from there
		}
		prev = cur
	}
}
