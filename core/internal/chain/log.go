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

// FinishLog completes a request whose chain has log steps, and whose
// response is considered written as FinishLog is called (a request served
// without a connection, in tests): it prepares c (PrepareLog) and queues
// it for the log phase (QueueLog), or, when the chain captures its log,
// captures and finishes it at once (CaptureLog, FinishCaptured). done is
// called after the log phase, or at once if it is dropped; it must
// release c. The gateway instead prepares (or captures) c when its
// handler returns and queues (or finishes) it once fasthttp has written
// the response.
func FinishLog(c *Context, done func(*Context)) {
	size := c.BodySize()
	if c.Route().Engine.(*Route).Chain.captures {
		CaptureLog(c, done)
		c.WriteEnded(time.Now(), int64(size), true)
		FinishCaptured(c)
		return
	}
	c.PrepareLog(done)
	c.WriteEnded(time.Now(), int64(size), true)
	QueueLog(c)
}

// QueueLog queues c, prepared by PrepareLog and told how its response's
// write ended (WriteEnded), for the log phase: now, or when the last step
// holding it (plugin.Context.HoldLog: a streamed answer that learns what
// to log while it is written) lets it go. When the queue is full the phase
// is dropped, counted, and c is done at once.
func QueueLog(c *Context) { c.FinishLog(queueLog) }

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
	ch := c.Route().Engine.(*Route).Chain
	var s *slot // the step running
	t := ch.start()
	defer func() {
		if p := recover(); p != nil {
			c.LogAttrs(slog.LevelError, "log phase panicked", slog.Any("panic", p))
			c.SetStepLogger(nil)
			if s != nil {
				s.done(c, reqctx.PhaseLog, s.now()-t, Failed)
			}
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

// CaptureLog readies c, whose chain captures its log (Chain.Captures), for
// its log phase: each log step whose request phase ran takes what it logs
// now, before the response is written (plugin.LogCapturer), and c lets go
// of the request (PrepareCaptured) without copying it. FinishCaptured
// ends the phase once the write has ended; done is called then, and must
// release c. A step whose capture panics is logged, counts as Failed, and
// is left out of the phase.
func CaptureLog(c *Context, done func(*Context)) {
	slots := c.Route().Engine.(*Route).Chain.slots[:c.Depth()]
	c.PrepareCapture()
	for i := range slots {
		if s := &slots[i]; s.capture != nil {
			s.captureLog(c)
		}
	}
	c.PrepareCaptured(done)
}

// captureLog runs the capture of s, keeping what it returns in c.
func (s *slot) captureLog(c *Context) {
	defer func() {
		if p := recover(); p != nil {
			c.LogAttrs(slog.LevelError, "log phase panicked", slog.Any("panic", p))
			c.SetStepLogger(nil)
			s.done(c, reqctx.PhaseLog, 0, Failed)
		}
	}()
	t0 := s.now()
	c.SetStepLogger(s.logger)
	l := s.capture.CaptureLog((*plugin.Context)(c))
	c.SetStepLogger(nil)
	if l != nil {
		c.AddCaptured(reqctx.Captured{Step: s.index, Log: l, Took: s.now() - t0})
	}
}

// FinishCaptured ends the log phase of c, prepared by CaptureLog and told
// how its response's write ended (WriteEnded): at once, on the calling
// goroutine, or on the one releasing the last hold (plugin.Context.HoldLog).
func FinishCaptured(c *Context) { c.FinishLog(finishCaptured) }

// finishCaptured finishes what the steps captured, in order. As in
// runLog, a step that panics ends the phase for the steps after it.
func finishCaptured(c *Context) {
	slots := c.Route().Engine.(*Route).Chain.slots
	var s *slot
	defer func() {
		if p := recover(); p != nil {
			c.LogAttrs(slog.LevelError, "log phase panicked", slog.Any("panic", p))
			c.SetStepLogger(nil)
			if s != nil {
				s.done(c, reqctx.PhaseLog, 0, Failed)
			}
		}
		c.SetPhase(reqctx.PhaseNone)
		c.Done()
	}()
	c.SetPhase(reqctx.PhaseLog)
	for _, x := range c.CapturedLogs() {
		s = &slots[x.Step]
		t0 := s.now()
		c.SetStepLogger(s.logger)
		x.Log.(plugin.CapturedLog).FinishLog((*plugin.Context)(c))
		t1 := s.now()
		c.SetStepLogger(nil)
		s.done(c, reqctx.PhaseLog, x.Took+t1-t0, Passed)
	}
	s = nil
}
