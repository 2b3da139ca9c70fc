package lua

import (
	"errors"
	"math"
	"sync/atomic"
	"time"
)

// errTimeout is the error a script sees (and logs show) when its call
// runs past its wall-clock deadline (lua.timeout, a step's timeout).
var errTimeout = errors.New("timeout: the script ran past its deadline")

// errBudget is the error a script sees when its call has run its budget
// of VM instructions (lua.max_instructions, a step's max_instructions).
var errBudget = errors.New("timeout: the script ran past its instruction budget")

// unlimited is the instruction budget of a call bounded by its deadline
// only (a *_test.lua file's own code).
const unlimited = math.MaxInt64

// watchdog is the context a Lua state runs under. gopher-lua calls its
// Done method before every VM instruction, so Done counts the
// instructions of the call and closes the channel when the call's budget
// is spent: a call that loops for ever is stopped after the same number
// of instructions however busy the machine is, and a call that does
// little is never stopped because its goroutine waited for a CPU.
//
// A wall-clock timer is the backstop for what does not run instructions:
// a Go function that blocks or works for long (gw.http, a pattern
// search, which charges the budget as it goes too). Each state has one
// reusable timer, so arming it per call allocates nothing (a
// context.WithTimeout per call would). Once the watchdog has fired the
// state is thrown away, so the channel is closed at most once and never
// reset.
//
// The counter is touched only by the goroutine that runs the call (arm,
// Done, charge, disarm); the timer's goroutine touches only state and
// the channel. A call that returns before the timer fires is never
// killed, even if the timer fires before it is stopped: the state field
// decides which of the two came first.
type watchdog struct {
	done  chan struct{}
	state atomic.Int32
	timer *time.Timer
	// left is the number of instructions the call may still run; it goes
	// below zero once the budget is spent.
	left int64
}

const (
	idle int32 = iota
	running
	timedOut  // the wall-clock deadline passed
	exhausted // the instruction budget was spent
)

func newWatchdog() *watchdog {
	w := &watchdog{done: make(chan struct{})}
	w.timer = time.AfterFunc(time.Hour, func() { w.kill(timedOut) })
	w.timer.Stop()
	return w
}

// kill stops the running call for reason (timedOut or exhausted): the
// next instruction, or the next check of a pattern search, raises Err.
func (w *watchdog) kill(reason int32) {
	if w.state.CompareAndSwap(running, reason) {
		close(w.done)
	}
}

// arm starts one call: at most instructions VM instructions (unlimited
// for none) and at most d of wall-clock time.
func (w *watchdog) arm(d time.Duration, instructions int64) {
	w.left = instructions
	w.state.Store(running)
	w.timer.Reset(d)
}

// disarm ends the call and reports why it was stopped: idle when it was
// not (it finished in time), else timedOut or exhausted. A stopped state
// must be thrown away.
func (w *watchdog) disarm() int32 {
	w.timer.Stop()
	if w.state.CompareAndSwap(running, idle) {
		return idle
	}
	return w.state.Load()
}

// charge counts n instructions' worth of work done by Go code (a pattern
// search) against the call's budget.
func (w *watchdog) charge(n int64) {
	if w.left -= n; w.left < 0 {
		w.kill(exhausted)
	}
}

// Deadline implements context.Context; the deadline is the timer's.
func (w *watchdog) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context. gopher-lua calls it before every VM
// instruction: it counts one instruction of the call.
func (w *watchdog) Done() <-chan struct{} {
	if w.left--; w.left < 0 {
		w.kill(exhausted)
	}
	return w.done
}

// Err implements context.Context.
func (w *watchdog) Err() error {
	switch w.state.Load() {
	case timedOut:
		return errTimeout
	case exhausted:
		return errBudget
	}
	return nil
}

// Value implements context.Context.
func (w *watchdog) Value(any) any { return nil }
