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
type watchdog struct {
	done  chan struct{}
	fired atomic.Bool
	timer *time.Timer
}

func newWatchdog() *watchdog {
	w := &watchdog{done: make(chan struct{})}
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
	return w
}

func (w *watchdog) fire() {
	if w.fired.CompareAndSwap(false, true) {
		close(w.done)
	}
}

// arm starts the countdown of one call.
func (w *watchdog) arm(d time.Duration) { w.timer.Reset(d) }

// disarm stops the countdown and reports whether it fired (or is
// firing): the state must then be thrown away.
func (w *watchdog) disarm() bool { return !w.timer.Stop() || w.fired.Load() }

// Deadline implements context.Context; the deadline is the timer's.
func (w *watchdog) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context.
func (w *watchdog) Done() <-chan struct{} { return w.done }

// Err implements context.Context.
func (w *watchdog) Err() error {
	if w.fired.Load() {
		return errTimeout
	}
	return nil
}

// Value implements context.Context.
func (w *watchdog) Value(any) any { return nil }
