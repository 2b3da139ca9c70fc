package chain

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

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

// FinishLog completes a request whose chain has log steps: it copies what
// the log phase may read (request and response headers, path parameters,
// the body size) out of the fasthttp context, which is reused as soon as
// the handler returns, and queues c for the log phase: now, or when the
// last step holding it (plugin.Context.HoldLog: a streamed answer that
// learns what to log while it is written) lets it go. done is called after
// the log phase, or at once if it is dropped; it must release c.
func FinishLog(c *Context, done func(*Context)) {
	logStart.Do(startLogWorkers)
	c.PrepareLog(done)
	c.FinishLog(queueLog)
}

func queueLog(c *Context) {
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

func runLog(c *Context) {
	defer func() {
		if p := recover(); p != nil {
			c.LogAttrs(slog.LevelError, "log phase panicked", slog.Any("panic", p))
		}
		c.SetPhase(reqctx.PhaseNone)
		c.Done()
	}()
	c.SetPhase(reqctx.PhaseLog)
	pc := (*plugin.Context)(c)
	for _, s := range c.Route().Engine.(*Route).Chain.steps[:c.Depth()] {
		if s.log != nil {
			s.log.OnLog(pc)
		}
	}
}
