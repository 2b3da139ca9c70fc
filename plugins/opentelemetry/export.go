package opentelemetry

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/tracecontext"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The counters of every instance, since the process started.
var exported, dropped, failed atomic.Uint64

// Stats returns how many spans every opentelemetry step of the process
// has sent, dropped because its queue was full (a collector slower than
// the traffic, or away), and lost in exports that failed.
func Stats() (sent, droppedFull, failedExport uint64) {
	return exported.Load(), dropped.Load(), failed.Load()
}

// processor is the SDK's span processor of an instance: ended spans go
// to a bounded queue, never waited for, and a goroutine sends them in
// batches. The SDK's own batch processor drops as quietly but does not
// say how much; this one counts.
type processor struct {
	exporter  sdktrace.SpanExporter
	queue     chan sdktrace.ReadOnlySpan
	flush     chan chan struct{}
	stop      chan struct{}
	done      chan struct{}
	batchSize int
	interval  time.Duration
	timeout   time.Duration
	logger    *slog.Logger
	stopOnce  sync.Once
	lastWarn  atomic.Int64 // unix ns of the last warning logged
}

func newProcessor(e sdktrace.SpanExporter, queueSize, batchSize int, interval, timeout time.Duration, logger *slog.Logger) *processor {
	p := &processor{exporter: e, queue: make(chan sdktrace.ReadOnlySpan, queueSize), flush: make(chan chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{}), batchSize: batchSize, interval: interval,
		timeout: timeout, logger: logger}
	go p.run()
	return p
}

// OnStart implements sdktrace.SpanProcessor.
func (p *processor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: it queues s, or drops it when
// the queue is full. It never blocks.
func (p *processor) OnEnd(s sdktrace.ReadOnlySpan) {
	select {
	case p.queue <- s:
	default:
		dropped.Add(1)
		p.warn("span queue full: spans dropped (the collector is slower than the traffic, or away)")
	}
}

// ForceFlush implements sdktrace.SpanProcessor: it sends what is queued.
func (p *processor) ForceFlush(ctx context.Context) error {
	ch := make(chan struct{})
	select {
	case p.flush <- ch:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown implements sdktrace.SpanProcessor: it sends what is queued and
// stops the exporter, within ctx.
func (p *processor) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	return p.exporter.Shutdown(ctx)
}

func (p *processor) run() {
	defer close(p.done)
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	batch := make([]sdktrace.ReadOnlySpan, 0, p.batchSize)
	for {
		select {
		case s := <-p.queue:
			if batch = append(batch, s); len(batch) >= p.batchSize {
				batch = p.send(batch)
			}
		case <-tick.C:
			batch = p.send(batch)
		case ch := <-p.flush:
			batch = p.send(p.drain(batch))
			close(ch)
		case <-p.stop:
			p.send(p.drain(batch))
			return
		}
	}
}

// drain moves what is queued into batch, sending full batches.
func (p *processor) drain(batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	for {
		select {
		case s := <-p.queue:
			if batch = append(batch, s); len(batch) >= p.batchSize {
				batch = p.send(batch)
			}
		default:
			return batch
		}
	}
}

// send exports batch, within the timeout, and returns it emptied.
func (p *processor) send(batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	if len(batch) == 0 {
		return batch
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	err := p.exporter.ExportSpans(ctx, batch)
	cancel()
	if err != nil {
		failed.Add(uint64(len(batch)))
		p.warn("span export failed: spans lost", slog.Int("spans", len(batch)), slog.String("error", err.Error()))
	} else {
		exported.Add(uint64(len(batch)))
	}
	clear(batch)
	return batch[:0]
}

// warn logs at most one warning every 10 seconds: a collector that is
// away must not flood the log.
func (p *processor) warn(msg string, attrs ...slog.Attr) {
	now := time.Now().UnixNano()
	last := p.lastWarn.Load()
	if now-last < int64(10*time.Second) || !p.lastWarn.CompareAndSwap(last, now) {
		return
	}
	_, d, f := Stats()
	p.logger.LogAttrs(context.Background(), slog.LevelWarn, msg,
		append(attrs, slog.Uint64("dropped_total", d), slog.Uint64("failed_total", f))...)
}

// spanIDKey carries a request's ids to idGenerator, in the context the
// server span starts from.
type spanIDKey struct{}

type ids struct {
	trace trace.TraceID
	span  trace.SpanID
}

// idGenerator gives the server span the IDs the gateway sent upstream
// (the request's trace), and the other spans random ones.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if v, ok := ctx.Value(spanIDKey{}).(ids); ok {
		return v.trace, v.span
	}
	return trace.TraceID(newTraceID()), trace.SpanID(newSpanID())
}

func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if v, ok := ctx.Value(spanIDKey{}).(ids); ok {
		return v.span
	}
	return trace.SpanID(newSpanID())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var (
	newTraceID = tracecontext.NewTraceID
	newSpanID  = tracecontext.NewSpanID
)
