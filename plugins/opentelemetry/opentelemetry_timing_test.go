package opentelemetry

import (
	"context"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/core/tracecontext"
	_ "github.com/moongate/moongate/plugins/headers"
	_ "github.com/moongate/moongate/plugins/requestid"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discard is an exporter that sends nothing: the benchmarks measure what
// a request costs, not the export, which runs on its own goroutine.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// useDiscard makes the plugins built until the test ends export nowhere.
func useDiscard(tb testing.TB) {
	old := newExporter
	newExporter = func(...otlptracehttp.Option) (sdktrace.SpanExporter, error) { return discard{}, nil }
	tb.Cleanup(func() { newExporter = old })
}

// benchChain is opentelemetry (or nothing, for the baseline), request-id
// and headers in front of a synthetic upstream.
func benchChain(tb testing.TB, otel bool) *plugintest.Chain {
	useDiscard(tb)
	var steps []config.Step
	if otel {
		steps = append(steps, config.Step{Name: "opentelemetry", Enabled: true, Config: config.NewTable("config",
			map[string]any{"endpoint": "http://127.0.0.1:9/v1/traces"})})
	}
	steps = append(steps, config.Step{Name: "request-id", Enabled: true},
		config.Step{Name: "headers", Enabled: true, Config: config.NewTable("config",
			map[string]any{"response": map[string]any{"set": map[string]any{"X-Served-By": "moongate"}}})})
	ch, err := plugintest.NewChain(plugintest.Options{Steps: steps, Upstream: plugintest.Reply{Body: "ok"}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ch.Close() })
	return ch
}

// serve runs one request with trace t through ch, then the plugin's log
// phase on the same goroutine (the engine's handing over of the log
// phase is its own cost, measured with the access log's).
func serve(tb testing.TB, ch *plugintest.Chain, fc *fasthttp.RequestCtx, t tracecontext.Trace) {
	fc.Response.Reset()
	c := ch.Context(fc)
	plugintest.SetTrace(c, t)
	ch.Serve(c)
	if st := c.Response.StatusCode(); st != 200 {
		tb.Fatalf("status %d", st)
	}
	if p, ok := ch.Instances()[0].(*Plugin); ok {
		p.OnLog(c)
	}
	plugintest.Release(c)
}

func benchTrace(sampled bool) tracecontext.Trace {
	t := tracecontext.Trace{TraceID: tracecontext.NewTraceID(), SpanID: tracecontext.NewSpanID(), ParentID: tracecontext.NewSpanID()}
	if sampled {
		t.Flags = tracecontext.FlagSampled
	}
	return t
}

func benchRequest() *fasthttp.RequestCtx {
	var fc fasthttp.RequestCtx
	fc.Request.SetRequestURI("/api/users/42")
	fc.Request.Header.SetHost("api.example.com")
	return &fc
}

func benchServe(b *testing.B, otel, sampled bool) {
	ch := benchChain(b, otel)
	fc := benchRequest()
	t := benchTrace(sampled)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, ch, fc, t)
	}
}

// BenchmarkWithoutPlugin is the baseline: request-id and headers, no
// opentelemetry step (and so no log phase).
func BenchmarkWithoutPlugin(b *testing.B) { benchServe(b, false, false) }

// BenchmarkUnsampled is a request whose trace is not sampled: what
// remains is the log phase the step has (every request of its route goes
// through it) and the engine timing the chain's steps.
func BenchmarkUnsampled(b *testing.B) { benchServe(b, true, false) }

// BenchmarkSampled is a sampled request: a server span and a child span
// per step, phase and the upstream call (7 spans), queued for export.
func BenchmarkSampled(b *testing.B) { benchServe(b, true, true) }

// BenchmarkSampledNoStepSpans is a sampled request with step_spans off:
// the server span alone.
func BenchmarkSampledNoStepSpans(b *testing.B) {
	useDiscard(b)
	ch, err := plugintest.NewChain(plugintest.Options{Steps: []config.Step{{Name: "opentelemetry", Enabled: true,
		Config: config.NewTable("config", map[string]any{"endpoint": "http://127.0.0.1:9/v1/traces", "step_spans": false})}},
		Upstream: plugintest.Reply{Body: "ok"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ch.Close() })
	fc := benchRequest()
	t := benchTrace(true)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, ch, fc, t)
	}
}

// TestUnsampledDoesNotAllocate: a request whose trace is not sampled
// allocates nothing in the plugin.
func TestUnsampledDoesNotAllocate(t *testing.T) {
	ch := benchChain(t, true)
	fc := benchRequest()
	tr := benchTrace(false)
	plugintest.NoAllocs(t, func() { serve(t, ch, fc, tr) })
}
