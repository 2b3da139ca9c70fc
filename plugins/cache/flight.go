package cache

import (
	"sync"
	"time"
)

// A flight is one request gone upstream for a key; concurrent misses of
// the same key wait for it instead of going upstream too.
type flight struct {
	done     chan struct{}
	deadline int64 // past it, the flight is abandoned and replaced
}

// wait blocks until the flight lands or timeout passes; it reports
// whether the flight landed.
func (f *flight) wait(timeout int64) bool {
	t := time.NewTimer(time.Duration(timeout))
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-t.C:
		return false
	}
}

const flightShards = 32

// flightGroup holds the flights in progress, by key digest.
type flightGroup struct {
	shards [flightShards]struct {
		mu sync.Mutex
		m  map[[16]byte]*flight
	}
}

// join returns the flight for k and whether the caller leads it (and must
// finish it). A flight whose leader has not finished within timeout is
// abandoned: the next caller replaces it.
func (g *flightGroup) join(k [16]byte, now, timeout int64) (*flight, bool) {
	s := &g.shards[k[0]%flightShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.m[k]; ok && now < f.deadline {
		return f, false
	}
	if s.m == nil {
		s.m = map[[16]byte]*flight{}
	}
	f := &flight{done: make(chan struct{}), deadline: now + timeout}
	s.m[k] = f
	return f, true
}

// finish lands f (nil: nothing to do) and wakes its waiters.
func (g *flightGroup) finish(k [16]byte, f *flight) {
	if f == nil {
		return
	}
	s := &g.shards[k[0]%flightShards]
	s.mu.Lock()
	if s.m[k] == f {
		delete(s.m, k)
	}
	s.mu.Unlock()
	close(f.done)
}
