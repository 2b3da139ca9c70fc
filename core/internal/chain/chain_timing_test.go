package chain

import (
	"log/slog"
	"testing"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// BenchmarkClock is one read of the engine's clock: what timing costs per
// step and phase.
func BenchmarkClock(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = clock()
	}
}

// passStep does nothing, in both phases.
type passStep struct{}

func (passStep) OnRequest(c *plugin.Context) error  { return nil }
func (passStep) OnResponse(c *plugin.Context) error { return nil }

// benchmarkSteps serves requests through n steps of both phases, with
// loggers and obs as observer.
func benchmarkSteps(b *testing.B, n int, obs Observer) {
	steps := make([]*step, n)
	for i := range steps {
		steps[i] = &step{label: "s", instance: passStep{}, req: passStep{}, resp: passStep{}}
	}
	r := NewRoute("r", newChain("r", steps, slog.New(slog.DiscardHandler), obs), statusUpstream{})
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		c := reqctx.Acquire(fc)
		c.Setup(&r.Route, -1, nil, nil, nil)
		r.Serve(c)
		reqctx.Release(c)
	}
}

// BenchmarkServe1Step and BenchmarkServe8Steps: the engine's cost per
// request and per step (each step has a request and a response phase),
// untimed as chains are by default; the difference over 7 steps is the
// cost of 7 steps.
func BenchmarkServe1Step(b *testing.B)  { benchmarkSteps(b, 1, NopObserver{}) }
func BenchmarkServe8Steps(b *testing.B) { benchmarkSteps(b, 8, NopObserver{}) }

// BenchmarkServe1StepObserved and BenchmarkServe8StepsObserved: the same
// chains timed, with an observer told of every phase; the difference
// with the untimed ones is the cost of timing (2 clock reads per request,
// 1 per step and phase).
func BenchmarkServe1StepObserved(b *testing.B)  { benchmarkSteps(b, 1, countingObserver{new(int)}) }
func BenchmarkServe8StepsObserved(b *testing.B) { benchmarkSteps(b, 8, countingObserver{new(int)}) }
