package plugintest

import "runtime"

// TB is the part of testing.TB this package uses (*testing.T and
// *testing.B have it); the package does not import testing, because
// `moongate script test` links it into the command.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(f func())
}

// NoAllocs fails t when f allocates: it calls f once to warm up, then
// counts the allocations of 100 calls on one thread, as
// testing.AllocsPerRun does. Under the race detector, which allocates on
// its own, it calls f once and counts nothing. It is the
// zero-allocation guard a step on the request path keeps beside its
// benchmark.
func NoAllocs(t TB, f func()) {
	t.Helper()
	if raceEnabled {
		f()
		t.Logf("plugintest: allocations are not counted under -race")
		return
	}
	if n := allocsPerRun(100, f); n != 0 {
		t.Fatalf("%d allocations per run, want 0", n)
	}
}

// allocsPerRun returns the allocations of one call of f, averaged over
// runs calls (rounded down), after a first call to warm up.
func allocsPerRun(runs int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	before := m.Mallocs
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&m)
	return (m.Mallocs - before) / uint64(runs)
}
