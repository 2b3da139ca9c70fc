package chain

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
)

// The log phase runs on a few worker goroutines fed by a bounded queue, so
// that it never delays a response. When the queue is full (log steps slower
// than the traffic), the log phase of that request is dropped and counted:
// a proxy must not slow down, or grow without bound, because of its logs.
var (
	logQueue     chan *Context
	logStart     sync.Once
	logDropped   atomic.Uint64
	logQueueSize = 8192
)

// LogDropped returns how many requests' log phase was dropped because the
// queue was full.
func LogDropped() uint64 { return logDropped.Load() }

// PrepareLog readies c, whose chain has log steps, for its log phase when
// the handler returns, before fasthttp writes the response: when the
// chain captures its log (every log step is a plugin.LogCapturer), the
// steps take what they log now (captureLog); otherwise c copies the
// request for the log workers (Context.PrepareLog). done is called once
// the phase is over, or at once if it is dropped; it must release c.
func PrepareLog(c *Context, done func(*Context)) {
	if chainOf(c).captures {
		captureLog(c, done)
		return
	}
	c.PrepareLog(done)
}

// EndLog ends the log phase of c, prepared by PrepareLog and told how its
// response's write ended (WriteEnded): now, or when the last step holding
// it (plugin.Context.HoldLog: a streamed answer that learns what to log
// while it is written) lets it go. A captured phase is finished on the
// calling goroutine; another is queued for the log workers, and dropped
// and counted when the queue is full.
func EndLog(c *Context) {
	if chainOf(c).captures {
		c.FinishLog(finishCaptured)
		return
	}
	c.FinishLog(queueLog)
}

// FinishLog runs the log phase of a request whose response is considered
// written as FinishLog is called (one served without a connection, in
// tests): PrepareLog, then EndLog. The gateway calls PrepareLog when its
// handler returns and EndLog once fasthttp has written the response.
func FinishLog(c *Context, done func(*Context)) {
	size := c.BodySize()
	PrepareLog(c, done)
	c.WriteEnded(time.Now(), int64(size), true)
	EndLog(c)
}

// chainOf returns the chain of c's route.
func chainOf(c *Context) *Chain { return c.Route().Engine.(*Route).Chain }

func queueLog(c *Context) {
	logStart.Do(startLogWorkers)
	select {
	case logQueue <- c:
	default:
		logDropped.Add(1)
		c.Done()
	}
}

func startLogWorkers() {
	logQueue = make(chan *Context, logQueueSize)
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		go logWorker()
	}
}

func logWorker() {
	for c := range logQueue {
		runLog(c)
	}
}

// runLog runs the log phase of the steps whose request phase ran, in
// order. A step that panics ends the phase for the steps after it: the
// panic is logged with the step's logger, and counts as Failed.
func runLog(c *Context) {
	ch := chainOf(c)
	var s *slot // the step running
	t := ch.start()
	defer func() {
		if p := recover(); p != nil {
			logPanicked(c, s, p, t)
		}
		c.SetPhase(reqctx.PhaseNone)
		c.Done()
	}()
	c.SetPhase(reqctx.PhaseLog)
	slots := ch.slots[:c.Depth()]
	for i := range slots {
		if s = &slots[i]; s.log != nil {
			t = s.onLog(c, t)
		}
	}
	s = nil
}

// captureLog has each log step whose request phase ran take what it logs
// (plugin.LogCapturer), then lets c go of the request without copying it
// (PrepareCaptured); finishCaptured ends the phase.
func captureLog(c *Context, done func(*Context)) {
	c.RestoreRoutedURI()
	slots := chainOf(c).slots[:c.Depth()]
	for i := range slots {
		if s := &slots[i]; s.capture != nil {
			s.captureLog(c)
		}
	}
	c.PrepareCaptured(done)
}

// captureLog runs the capture of s, keeping what it returns in c. A step
// whose capture panics is left out of the phase.
func (s *slot) captureLog(c *Context) {
	t0 := s.now()
	defer func() {
		if p := recover(); p != nil {
			logPanicked(c, s, p, t0)
		}
	}()
	c.SetStepLogger(s.logger)
	l := s.capture.CaptureLog((*plugin.Context)(c))
	c.SetStepLogger(nil)
	if l != nil {
		c.AddCaptured(reqctx.Captured{Step: s.index, Log: l, Took: s.now() - t0})
	}
}

// finishCaptured finishes what the steps captured, in order. As in
// runLog, a step that panics ends the phase for the steps after it.
func finishCaptured(c *Context) {
	slots := chainOf(c).slots
	var s *slot
	var t0 time.Duration
	defer func() {
		if p := recover(); p != nil {
			logPanicked(c, s, p, t0)
		}
		c.SetPhase(reqctx.PhaseNone)
		c.Done()
	}()
	c.SetPhase(reqctx.PhaseLog)
	for _, x := range c.CapturedLogs() {
		s = &slots[x.Step]
		t0 = s.now()
		c.SetStepLogger(s.logger)
		x.Log.(plugin.CapturedLog).FinishLog((*plugin.Context)(c))
		t1 := s.now()
		c.SetStepLogger(nil)
		s.done(c, reqctx.PhaseLog, x.Took+t1-t0, Passed)
	}
	s = nil
}

// logPanicked logs a panic p of a log phase with the step's logger (still
// set), and counts the phase of s (nil: none), started at t0, as Failed.
func logPanicked(c *Context, s *slot, p any, t0 time.Duration) {
	c.LogAttrs(slog.LevelError, "log phase panicked", slog.Any("panic", p))
	c.SetStepLogger(nil)
	if s != nil {
		s.done(c, reqctx.PhaseLog, s.now()-t0, Failed)
	}
}
