package gateway

import (
	"runtime/debug"
	"runtime/metrics"
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
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// large reports whether the heap allocated since mark (allocated) makes a
// large load.
func large(mark uint64) bool { return allocated()-mark > largeLoad }

// releaseMemory gives the heap's free memory back to the OS.
func releaseMemory() { debug.FreeOSMemory() }
