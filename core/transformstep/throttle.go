package transformstep

import (
	"sync/atomic"
	"time"
)

// Throttle lets a log line through at most once per interval, for the
// problems a step meets on requests (a body that is not JSON, a streamed
// body it cannot edit): a client that sends a thousand of them a second
// must not write a thousand log lines. The zero value lets one line
// through per DefaultInterval. It is safe for concurrent use.
type Throttle struct {
	// Every is the interval; 0 means DefaultInterval.
	Every time.Duration
	next  atomic.Int64 // unix nanoseconds before which lines are dropped
	drops atomic.Int64 // lines dropped since the last one let through
}

// DefaultInterval is the interval of a Throttle that sets none.
const DefaultInterval = time.Minute

// Allow reports whether a line may be written at now, and how many were
// dropped since the previous one (to say so in the line).
func (t *Throttle) Allow(now time.Time) (ok bool, dropped int64) {
	n := now.UnixNano()
	next := t.next.Load()
	every := t.Every
	if every <= 0 {
		every = DefaultInterval
	}
	if n < next || !t.next.CompareAndSwap(next, n+int64(every)) {
		t.drops.Add(1)
		return false, 0
	}
	return true, t.drops.Swap(0)
}
