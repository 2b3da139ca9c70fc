package chain

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/moongate/moongate/core/internal/reqctx"
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

// FinishLog completes a request whose chain has log steps: it copies what
// the log phase may read (request and response headers, path parameters,
// the body size) out of the fasthttp context, which is reused as soon as
// the handler returns, and queues c for the log phase. done is called after
// the log phase, or at once if it is dropped; it must release c.
func FinishLog(c *Context, done func(*Context)) {
	logStart.Do(startLogWorkers)
	c.PrepareLog(done)
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
