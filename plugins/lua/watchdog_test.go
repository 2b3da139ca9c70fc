package lua

import (
	"testing"
	"time"
)

// waitStopped waits (at most 10 s) for the watchdog to stop the running
// call, as a Go function blocked in a binding would, and returns why.
func waitStopped(t *testing.T, w *watchdog) int32 {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the call was not stopped in 10s")
	}
	return w.disarm()
}

// A call that blocks is stopped at its deadline however the state was
// used before: after many short calls (the timer was set by the first
// and is not reset by the others), and after the timer lapsed on an idle
// state.
func TestWatchdogStopsBlockedCall(t *testing.T) {
	w := newWatchdog()
	for range 1000 {
		w.arm(time.Hour, unlimited)
		if why := w.disarm(); why != idle {
			t.Fatalf("short call stopped: %d", why)
		}
	}
	w.arm(20*time.Millisecond, unlimited)
	if why := waitStopped(t, w); why != timedOut {
		t.Fatalf("got %d, want timedOut", why)
	}
	if w.Err() != errTimeout {
		t.Fatalf("Err = %v", w.Err())
	}

	// The timer fires once on an idle state and lapses; the next call
	// sets it again.
	w = newWatchdog()
	w.arm(time.Millisecond, unlimited)
	w.disarm()
	for deadline := time.Now().Add(10 * time.Second); w.pending.Load(); {
		if time.Now().After(deadline) {
			t.Fatal("the timer of an idle state did not lapse")
		}
		time.Sleep(time.Millisecond)
	}
	w.arm(20*time.Millisecond, unlimited)
	if why := waitStopped(t, w); why != timedOut {
		t.Fatalf("got %d, want timedOut", why)
	}
}

// A call's deadline counts from its own start, not from the call that
// set the timer: a call that starts just before the timer fires runs for
// its whole deadline.
func TestWatchdogDeadlineCountsFromEachCall(t *testing.T) {
	const d = 100 * time.Millisecond
	w := newWatchdog()
	w.arm(d, unlimited) // sets the timer to fire d from now
	w.disarm()
	time.Sleep(d * 3 / 4)
	start := time.Now()
	deadline := w.arm(d, unlimited)
	if deadline.Before(start.Add(d)) || deadline.After(time.Now().Add(d)) {
		t.Fatalf("deadline %v, want %v from the call's start", deadline.Sub(start), d)
	}
	if why := waitStopped(t, w); why != timedOut {
		t.Fatalf("got %d, want timedOut", why)
	}
	if took := time.Since(start); took < d {
		t.Fatalf("stopped after %v, before its deadline of %v", took, d)
	}
}

// A call that returns is never reported stopped, and a stopped call is
// always reported stopped, however the timer's firing and the call's end
// interleave (the deadline here is about as long as a call).
func TestWatchdogRaceWithCallEnd(t *testing.T) {
	w := newWatchdog()
	stopped, ended := 0, 0
	for range 20000 {
		w.arm(time.Microsecond, unlimited)
		for range 10 {
			if w.state() != running {
				break
			}
		}
		switch why := w.disarm(); why {
		case idle:
			ended++
			select {
			case <-w.done:
				t.Fatal("a call that ended in time had its channel closed")
			default:
			}
			if w.Err() != nil {
				t.Fatalf("Err = %v after a call that ended in time", w.Err())
			}
		case timedOut:
			stopped++
			select { // closed right after the state changed
			case <-w.done:
			case <-time.After(10 * time.Second):
				t.Fatal("a stopped call's channel stayed open")
			}
			w = newWatchdog() // a stopped state is thrown away
		default:
			t.Fatalf("disarm = %d", why)
		}
	}
	t.Logf("%d calls ended, %d stopped", ended, stopped)
}

// The instruction budget stops a call whatever the timer does.
func TestWatchdogInstructionBudget(t *testing.T) {
	w := newWatchdog()
	w.arm(time.Hour, 10)
	for range 10 {
		w.Done()
	}
	if w.state() != running {
		t.Fatal("stopped within its budget")
	}
	w.Done()
	if why := w.disarm(); why != exhausted || w.Err() != errBudget {
		t.Fatalf("got %d, %v; want exhausted", why, w.Err())
	}
}
