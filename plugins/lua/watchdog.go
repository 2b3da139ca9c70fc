package lua

import (
	"errors"
	"math"
	"sync"
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

// epoch is the origin of the watchdogs' clock: calls are timed with
// time.Since(epoch), which reads the monotonic clock only (half the cost
// of time.Now, which reads the wall clock too).
var epoch = time.Now()

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
// reusable timer, which a call does not reset as long as the timer is
// due no later than the call's own deadline: arm notes when the call
// started, and sets the timer only when it is not set or due too late.
// When the timer fires it looks at the state: a call running past its
// deadline is stopped; a call that started later sets the timer again
// for the rest of its deadline; an idle state lets the timer lapse, and
// the next call sets it. A call is therefore stopped when its deadline
// passes (as soon as the timer's goroutine runs), never before, and a
// state in steady use costs a timer firing about once per deadline
// instead of a timer reset and stop per call, plus a read of the wall
// clock (together ~100 ns of a trivial call's ~840 ns of CPU). Once
// the watchdog has stopped a call the state is thrown away, so the
// channel is closed at most once and never reset.
//
// The counter is touched only by the goroutine that runs the call (arm,
// Done, charge, disarm); the timer's goroutine reads the call's start
// and deadline and may stop the call. A call that returns before the
// timer fires is never killed: the call's word (its number and its
// state) changes with a compare-and-swap, so the timer can only stop the
// call it looked at, and only while it is still running.
type watchdog struct {
	done chan struct{}
	// word is the current call's number (word>>2), counted by arm, and
	// its state (word&3: idle, running, timedOut, exhausted).
	word atomic.Uint64
	// start is when the current call started (time.Since(epoch)), limit
	// its wall-clock deadline; both are written by arm before word.
	start, limit atomic.Int64
	// pending is set while the timer is set, due is when it fires
	// (time.Since(epoch)); both change under mu, and pending is cleared
	// only by fire.
	pending atomic.Bool
	due     atomic.Int64
	mu      sync.Mutex
	timer   *time.Timer
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
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
	return w
}

// state returns the current call's state.
func (w *watchdog) state() int32 { return int32(w.word.Load() & 3) }

// kill stops the running call for reason (timedOut or exhausted): the
// next instruction, or the next check of a pattern search, raises Err.
func (w *watchdog) kill(reason int32) {
	if v := w.word.Load(); v&3 == uint64(running) {
		w.stop(v, reason)
	}
}

// stop stops call v (its word, running) for reason, unless it ended.
func (w *watchdog) stop(v uint64, reason int32) bool {
	if w.word.CompareAndSwap(v, v&^3|uint64(reason)) {
		close(w.done)
		return true
	}
	return false
}

// arm starts one call: at most instructions VM instructions (unlimited
// for none) and at most d of wall-clock time. It returns the call's
// deadline.
func (w *watchdog) arm(d time.Duration, instructions int64) time.Time {
	w.left = instructions
	now := time.Since(epoch)
	end := int64(now + d)
	w.start.Store(int64(now))
	w.limit.Store(int64(d))
	w.word.Store((w.word.Load()>>2+1)<<2 | uint64(running))
	// The call is running (stored above) before pending is read: a timer
	// lapsing meanwhile sees the call, or this sees the timer lapsed.
	if !w.pending.Load() || end < w.due.Load() {
		w.set(end)
	}
	return epoch.Add(now + d)
}

// set sets the timer to fire at end (time.Since(epoch)), unless it is
// set to fire before.
func (w *watchdog) set(end int64) {
	w.mu.Lock()
	if !w.pending.Load() || end < w.due.Load() {
		w.pending.Store(true)
		w.due.Store(end)
		w.timer.Reset(time.Duration(end - int64(time.Since(epoch))))
	}
	w.mu.Unlock()
}

// disarm ends the call and reports why it was stopped: idle when it was
// not (it finished in time), else timedOut or exhausted. A stopped state
// must be thrown away.
func (w *watchdog) disarm() int32 {
	v := w.word.Load()
	if v&3 == uint64(running) && w.word.CompareAndSwap(v, v&^3|uint64(idle)) {
		return idle
	}
	return w.state()
}

// fire is the timer's function: it stops the running call if its
// deadline has passed, sets the timer again for a call still within its
// deadline, and lets it lapse when the state is idle.
func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		v := w.word.Load()
		if v&3 != uint64(running) {
			w.pending.Store(false)
			// A call that started since the load above may have seen the
			// timer set and left it alone: look again.
			if v = w.word.Load(); v&3 != uint64(running) {
				return
			}
			w.pending.Store(true)
		}
		// start and limit are v's, or a later call's (which means v has
		// ended, and stop fails).
		end := w.start.Load() + w.limit.Load()
		if left := time.Duration(end - int64(time.Since(epoch))); left > 0 {
			w.due.Store(end)
			w.timer.Reset(left)
			return
		}
		if w.stop(v, timedOut) {
			return
		}
	}
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
	switch w.state() {
	case timedOut:
		return errTimeout
	case exhausted:
		return errBudget
	}
	return nil
}

// Value implements context.Context.
func (w *watchdog) Value(any) any { return nil }
