package chain

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
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
	c.bodySize = responseBodySize(c.Response)
	c.Request.Header.CopyTo(&c.logReq.Header)
	c.Response.Header.CopyTo(&c.logResp.Header)
	c.detachParams()
	c.Fast, c.Request, c.Response = nil, &c.logReq, &c.logResp
	c.done = done
	select {
	case logQueue <- c:
	default:
		logDropped.Add(1)
		done(c)
	}
}

// detachParams copies the path parameter values, which point into the
// fasthttp request, into the context's own memory.
func (c *Context) detachParams() {
	n := c.Params.Len()
	if n == 0 {
		return
	}
	size := 0
	for i := 0; i < n; i++ {
		_, v := c.Params.At(i)
		size += len(v)
	}
	buf := make([]byte, 0, size)
	var ps [16]struct {
		name string
		v    []byte
	}
	for i := 0; i < n && i < len(ps); i++ {
		name, v := c.Params.At(i)
		start := len(buf)
		buf = append(buf, v...)
		ps[i].name, ps[i].v = name, buf[start:len(buf):len(buf)]
	}
	c.Params.Reset()
	for i := 0; i < n && i < len(ps); i++ {
		c.Params.Set(ps[i].name, ps[i].v)
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
		c.phase = PhaseNone
		c.done(c)
	}()
	c.phase = PhaseLog
	for _, s := range c.Route.Chain.steps[:c.depth] {
		if s.log != nil {
			s.log.OnLog(c)
		}
	}
}
