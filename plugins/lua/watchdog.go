package lua

import (
	"errors"
	"sync/atomic"
	"time"
)

// errTimeout is the error a script sees (and logs show) when its call
// runs past its deadline.
var errTimeout = errors.New("timeout: the script ran past its deadline")

// watchdog is the context a Lua state runs under: gopher-lua checks its
// Done channel before every instruction. Each state has one, with one
// reusable timer, so arming it per call allocates nothing (a
// context.WithTimeout per call would). Once it has fired the state is
// thrown away, so the channel is closed at most once and never reset.
//
// A call that returns before the timer fires is never killed, even if the
// timer fires before it is stopped: the state field decides which of the
// two came first.
type watchdog struct {
	done  chan struct{}
	state atomic.Int32
	timer *time.Timer
}

const (
	idle int32 = iota
	running
	killed
)

func newWatchdog() *watchdog {
	w := &watchdog{done: make(chan struct{})}
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
	return w
}

func (w *watchdog) fire() {
	if w.state.CompareAndSwap(running, killed) {
		close(w.done)
	}
}

// arm starts the countdown of one call.
func (w *watchdog) arm(d time.Duration) {
	w.state.Store(running)
	w.timer.Reset(d)
}

// disarm ends the call's countdown and reports whether the call was
// killed: the state must then be thrown away.
func (w *watchdog) disarm() bool {
	ok := w.state.CompareAndSwap(running, idle)
	w.timer.Stop()
	return !ok
}

// Deadline implements context.Context; the deadline is the timer's.
func (w *watchdog) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context.
func (w *watchdog) Done() <-chan struct{} { return w.done }

// Err implements context.Context.
func (w *watchdog) Err() error {
	if w.state.Load() == killed {
		return errTimeout
	}
	return nil
}

// Value implements context.Context.
func (w *watchdog) Value(any) any { return nil }
