package chain

import (
	"errors"
	"log/slog"
	"time"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
)

// step is one built step, with its phase handlers looked up once. A
// global step is built once and shared by the chains of every route that
// keeps it.
type step struct {
	id       string // identity in the merge of global and route steps
	label    string // plugin name or script path, for logs
	instance any
	req      plugin.RequestHandler
	resp     plugin.ResponseHandler
	log      plugin.LogHandler
	capture  plugin.LogCapturer // log, when it captures (nil otherwise)
	cont     bool               // on_error = "continue"
}

// slot is a step at its place in one route's chain: the step, and what
// belongs to its place. Every phase of a step runs through its slot's
// wrappers (onRequest, onResponse, onLog): they hand the step its
// logger, time it and tell the observer, so that a concern of every
// step hangs here rather than in Route.Serve.
type slot struct {
	*step
	index int
	// logger is the process logger tagged with the route and the step
	// (plugin.Context.Logger during the step's phases); nil when the
	// engine has no logger (then the context's process logger serves).
	logger *slog.Logger
	// obs is told of each phase of the step; nil for none.
	obs StepObserver
	// timed: the chain times its steps (see Chain.timed).
	timed bool
}

// epoch is where the engine's clock starts.
var epoch = time.Now()

// clock reads the monotonic clock: a step's phase is timed from one read
// to the next, each read shared by the end of a step and the start of
// the next one. time.Since reads only the monotonic clock, where
// time.Now reads the wall clock too: about 25 ns (BenchmarkClock).
func clock() time.Duration { return time.Since(epoch) }

// now reads the clock on a timed chain; 0 otherwise.
func (s *slot) now() time.Duration {
	if !s.timed {
		return 0
	}
	return clock()
}

// onRequest runs the request phase of s, which started at t0 on the
// clock, and reports whether the phase stops here (the step answered,
// refused or failed) and the clock when the step ended.
func (s *slot) onRequest(c *Context, t0 time.Duration) (stop bool, t1 time.Duration) {
	c.SetStepLogger(s.logger)
	err := s.req.OnRequest((*plugin.Context)(c))
	t1 = s.now()
	c.SetStepLogger(nil)
	o := Passed
	switch {
	case err != nil:
		stop, o = stepFailed(c, s.step, err)
	case c.Answered():
		stop, o = true, Answered
	}
	s.done(c, reqctx.PhaseRequest, t1-t0, o)
	return stop, t1
}

// onResponse runs the response phase of s, which started at t0 on the
// clock, and returns the clock when the step ended.
func (s *slot) onResponse(c *Context, t0 time.Duration) (t1 time.Duration) {
	c.SetStepLogger(s.logger)
	err := s.resp.OnResponse((*plugin.Context)(c))
	t1 = s.now()
	c.SetStepLogger(nil)
	o := Passed
	if err != nil {
		_, o = stepFailed(c, s.step, err)
	}
	s.done(c, reqctx.PhaseResponse, t1-t0, o)
	return t1
}

// onLog runs the log phase of s, which started at t0 on the clock, and
// returns the clock when the step ended. A panic goes on to runLog,
// with the step's logger still set.
func (s *slot) onLog(c *Context, t0 time.Duration) (t1 time.Duration) {
	c.SetStepLogger(s.logger)
	s.log.OnLog((*plugin.Context)(c))
	t1 = s.now()
	c.SetStepLogger(nil)
	s.done(c, reqctx.PhaseLog, t1-t0, Passed)
	return t1
}

// done records, on a timed chain, that the step took d in phase p, and
// tells the observer. It is small enough to be inlined: an untimed,
// unobserved chain pays two tests.
func (s *slot) done(c *Context, p reqctx.Phase, d time.Duration, o Outcome) {
	if s.timed || s.obs != nil {
		s.record(c, p, d, o)
	}
}

func (s *slot) record(c *Context, p reqctx.Phase, d time.Duration, o Outcome) {
	if s.timed {
		c.SetStepTime(s.index, p, d)
	} else {
		d = 0
	}
	if s.obs != nil {
		s.obs.PhaseDone(c, p, d, o)
	}
}

// stepFailed handles an error returned by step s and reports whether the
// current phase must stop, and the outcome. A 4xx *Error is the step's
// deliberate answer; anything else is a failure, logged, then skipped
// (on_error = "continue") or answered with 500 (or the error's own 5xx
// status). The log line names the route, the step and the error (a
// script's error starts with its file and line); the client's answer
// names none of them.
func stepFailed(c *Context, s *step, err error) (bool, Outcome) {
	var e *plugin.Error
	if errors.As(err, &e) && e.Status < 500 {
		c.Error(e.Status, e.Message)
		return true, Refused
	}
	c.LogAttrs(slog.LevelError, "step failed", slog.String("step", s.label),
		slog.String("phase", c.Phase().String()), slog.String("error", err.Error()))
	if s.cont {
		return false, Failed
	}
	if e != nil {
		c.Error(e.Status, e.Message)
	} else {
		c.Error(500, "internal error")
	}
	return true, Failed
}
