package chain

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// event is what a recorder was told of one phase of one step.
type event struct {
	info    StepInfo
	phase   reqctx.Phase
	outcome Outcome
	d       time.Duration
	stepped time.Duration // c.StepTime of the step and phase, when told
}

func (e event) String() string {
	return fmt.Sprintf("%s/%d/%s %s %s", e.info.Route, e.info.Index, e.info.Name, e.phase, e.outcome)
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	events []event
	skip   string // a step name it asks not to be told of
}

func (r *recorder) Step(s StepInfo) StepObserver {
	if s.Name == r.skip {
		return nil
	}
	return &stepRecorder{r, s}
}

type stepRecorder struct {
	r    *recorder
	info StepInfo
}

func (s *stepRecorder) PhaseDone(c *Context, p reqctx.Phase, d time.Duration, o Outcome) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.events = append(s.r.events, event{s.info, p, o, d, c.StepTime(s.info.Index, p)})
}

func (r *recorder) lines() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.String())
	}
	return strings.Join(out, "\n")
}

// scripted is a step whose phases do what it is told: "pass", "tick"
// (pass, after the clock moved on), "answer" (Respond 200), "refuse" (a
// 401 *Error), "fail" (an error), "panic".
type scripted struct{ req, resp, log string }

// tick returns once the engine's clock has moved on: a step that calls it
// lasts at least one tick of the clock, however coarse.
func tick() {
	for t0 := clock(); clock() == t0; {
	}
}

func (s scripted) act(c *plugin.Context, what string) error {
	switch what {
	case "tick":
		tick()
	case "answer":
		c.Respond(200, "text/plain", []byte("answered"))
	case "refuse":
		return plugin.NewError(401, "who are you?")
	case "fail":
		return errors.New("boom")
	case "panic":
		panic("boom")
	}
	return nil
}

func (s scripted) OnRequest(c *plugin.Context) error  { return s.act(c, s.req) }
func (s scripted) OnResponse(c *plugin.Context) error { return s.act(c, s.resp) }
func (s scripted) OnLog(c *plugin.Context)            { _ = s.act(c, s.log) }

// scriptedStep returns a step of s, with the phases s names.
func scriptedStep(label string, s scripted, cont bool) *step {
	st := &step{label: label, instance: s, cont: cont}
	if s.req != "" {
		st.req = s
	}
	if s.resp != "" {
		st.resp = s
	}
	if s.log != "" {
		st.log = s
	}
	return st
}

// serve runs a request through r, then its log phase if it has one.
func serve(t *testing.T, r *Route, logger *slog.Logger) *fasthttp.RequestCtx {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, nil, nil)
	c := reqctx.Acquire(fc)
	c.Setup(&r.Route, -1, nil, nil, logger)
	c.SetRequestID([]byte("id-1"))
	r.Serve(c)
	if logger != nil && c.Logger() != logger {
		t.Error("after the chain, Logger is not the process logger")
	}
	if !r.Chain.HasLog() {
		reqctx.Release(c)
		return fc
	}
	done := make(chan struct{})
	FinishLog(c, func(c *Context) { reqctx.Release(c); close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the log phase did not end")
	}
	return fc
}

// TestObserverSeesEveryPhase: the observer is told, in the order they
// ran, of each phase of each step, with the route, the step's place and
// name, and how the phase ended; what it is told of a step's time is
// what the context recorded. A step whose observer asked for nothing
// (nil) is not told of, and a step that never ran has no time.
func TestObserverSeesEveryPhase(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []*step
		want  []string
	}{
		{"passed, then refused", []*step{
			scriptedStep("auth-log", scripted{req: "tick", resp: "tick", log: "tick"}, false),
			scriptedStep("key-auth", scripted{req: "refuse", resp: "tick"}, false),
			scriptedStep("never", scripted{req: "pass", resp: "pass", log: "pass"}, false),
		}, []string{
			"r/0/auth-log request passed", "r/1/key-auth request refused",
			"r/1/key-auth response passed", "r/0/auth-log response passed",
			"r/0/auth-log log passed",
		}},
		{"answered", []*step{
			scriptedStep("mock", scripted{req: "answer"}, false),
			scriptedStep("never", scripted{req: "pass"}, false),
		}, []string{"r/0/mock request answered"}},
		{"failed, on_error continue, then failed", []*step{
			scriptedStep("script", scripted{req: "fail"}, true),
			scriptedStep("headers", scripted{req: "pass", resp: "fail"}, false),
		}, []string{
			"r/0/script request failed", "r/1/headers request passed", "r/1/headers response failed",
		}},
		{"unobserved step, log panic", []*step{
			scriptedStep("quiet", scripted{req: "pass", log: "pass"}, false),
			scriptedStep("logger", scripted{log: "panic"}, false),
			scriptedStep("after", scripted{log: "pass"}, false),
		}, []string{"r/1/logger log failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{skip: "quiet"}
			r := NewRoute("r", newChain("r", tc.steps, nil, rec), statusUpstream{})
			serve(t, r, slog.New(slog.DiscardHandler))
			if got := rec.lines(); got != strings.Join(tc.want, "\n") {
				t.Errorf("observed:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
			for _, e := range rec.events {
				if e.d < 0 || e.stepped != e.d {
					t.Errorf("%s: told %v, the context has %v", e, e.d, e.stepped)
				}
				if e.info.Name == "auth-log" && e.d == 0 {
					t.Errorf("%s: a step that lasted a tick of the clock took %v", e, e.d)
				}
			}
		})
	}
}

// timesStep reads, in its log phase, the times the context holds; it
// asks for them (plugin.StepTimesUser) when uses is set.
type timesStep struct {
	seen *[3][3]time.Duration
	uses bool
}

func (s timesStep) UsesStepTimes() bool                { return s.uses }
func (s timesStep) OnRequest(c *plugin.Context) error  { tick(); return nil }
func (s timesStep) OnResponse(c *plugin.Context) error { tick(); return nil }
func (s timesStep) OnLog(c *plugin.Context) {
	for i := range 3 {
		for j, p := range []plugin.Phase{plugin.PhaseRequest, plugin.PhaseResponse, plugin.PhaseLog} {
			s.seen[i][j] = c.StepTime(i, p)
		}
	}
}

// TestStepTimesOnContext: a log step that asks for the steps' times
// reads on its context the time every step took in the request and
// response phases, nothing for the phases a step does not have (or has
// not run yet), nothing for steps past the end of the chain. A chain
// where no step asks for them (and no observer) is not timed at all.
func TestStepTimesOnContext(t *testing.T) {
	for _, uses := range []bool{true, false} {
		var seen [3][3]time.Duration
		ts := timesStep{&seen, uses}
		r := NewRoute("r", newChain("r", []*step{
			scriptedStep("slow", scripted{req: "tick"}, false),
			{label: "times", instance: ts, req: ts, resp: ts, log: ts},
		}, nil, nil), statusUpstream{})
		serve(t, r, nil)
		if !uses {
			if seen != [3][3]time.Duration{} {
				t.Errorf("untimed chain: %v", seen)
			}
			continue
		}
		// Each step lasted a tick of the clock in the phases it has.
		if seen[0][0] <= 0 || seen[1][0] <= 0 || seen[1][1] <= 0 {
			t.Errorf("times of the phases that ran: %v", seen)
		}
		if seen[0][1] != 0 || seen[0][2] != 0 || seen[1][2] != 0 || seen[2] != [3]time.Duration{} {
			t.Errorf("times of phases that did not run (yet): %v", seen)
		}
	}
	var c reqctx.Context
	if c.StepTime(-1, reqctx.PhaseRequest) != 0 || c.StepTime(reqctx.MaxTimedSteps, reqctx.PhaseRequest) != 0 ||
		c.StepTime(0, reqctx.PhaseNone) != 0 {
		t.Error("StepTime out of range is not 0")
	}
	c.SetStepTime(reqctx.MaxTimedSteps, reqctx.PhaseRequest, time.Second) // ignored, no panic
}

// loggingStep logs through the context's logger in each phase.
type loggingStep struct{}

func (loggingStep) OnRequest(c *plugin.Context) error {
	c.Logger().Info("from request")
	c.LogAttrs(slog.LevelInfo, "attrs from request", slog.Int("n", 1))
	return nil
}
func (loggingStep) OnResponse(c *plugin.Context) error {
	c.Logger().Info("from response")
	return nil
}
func (loggingStep) OnLog(c *plugin.Context) { c.Logger().Info("from log") }

func init() {
	plugin.Register("chain-test-logging", func(spec plugin.Spec) (any, error) {
		spec.Logger().Info("built")
		return loggingStep{}, nil
	})
}

// TestStepLogger: during each of its phases, a step's Context.Logger is
// the process logger tagged with the route and the step, so that a
// global step (routes one and three keep it; two has its own) names the
// route of each request; LogAttrs adds the
// request's ID and names the route once. Its Spec.Logger, at build time,
// names the step, and the route for a route's own step. Between steps
// the context's logger is the process logger again.
func TestStepLogger(t *testing.T) {
	cfg, err := config.Parse("test.toml", []byte(`
[[plugins]]
name = "chain-test-logging"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:1" }]
[[routes]]
name = "one"
paths = ["/one"]
upstream = "u"
[[routes]]
name = "two"
paths = ["/two"]
upstream = "u"
[[routes.plugins]]
name = "chain-test-logging"
[[routes]]
name = "three"
paths = ["/three"]
upstream = "u"
`))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
				return slog.Attr{}
			}
			return a
		}}))
	b := NewBuilder(&plugin.Env{Logger: logger, Config: cfg})
	chains := []*Chain{b.Chain(0), b.Chain(1), b.Chain(2)}
	if ps := b.Problems(); len(ps) > 0 {
		t.Fatal(ps)
	}
	built := out.String()
	out.Reset()
	for i, name := range []string{"one", "two", "three"} {
		serve(t, NewRoute(name, chains[i], statusUpstream{}), logger)
	}
	want := `msg=built step=chain-test-logging
msg=built route=two step=chain-test-logging
`
	if built != want {
		t.Errorf("at build time:\n%swant:\n%s", built, want)
	}
	want = `route=one step=chain-test-logging msg="from request"
route=one step=chain-test-logging msg="attrs from request" request_id=id-1 n=1
route=one step=chain-test-logging msg="from response"
route=one step=chain-test-logging msg="from log"
route=two step=chain-test-logging msg="from request"
route=two step=chain-test-logging msg="attrs from request" request_id=id-1 n=1
route=two step=chain-test-logging msg="from response"
route=two step=chain-test-logging msg="from log"
route=three step=chain-test-logging msg="from request"
route=three step=chain-test-logging msg="attrs from request" request_id=id-1 n=1
route=three step=chain-test-logging msg="from response"
route=three step=chain-test-logging msg="from log"
`
	if got := reorder(out.String()); got != want {
		t.Errorf("during the phases:\n%swant:\n%s", got, want)
	}
}

// reorder moves msg after the logger's own attributes (slog's text
// handler writes msg first), so that lines read route, step, msg.
func reorder(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		msg, rest, _ := strings.Cut(l, " route=")
		rest = "route=" + rest
		// route=x step=y [other attrs]: msg goes after step.
		f := strings.SplitN(rest, " ", 3)
		line := f[0] + " " + f[1] + " " + msg
		if len(f) == 3 {
			line += " " + f[2]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

// TestServeDoesNotAllocate: the step wrappers (loggers, clock, times,
// observer) add no allocation to a request.
func TestServeDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, obs := range []Observer{NopObserver{}, countingObserver{new(int)}} {
		r := NewRoute("r", newChain("r", []*step{
			scriptedStep("a", scripted{req: "pass", resp: "pass"}, false),
			scriptedStep("b", scripted{req: "pass", resp: "pass"}, false),
		}, slog.New(slog.DiscardHandler), obs), statusUpstream{})
		fc := &fasthttp.RequestCtx{}
		fc.Init(&fasthttp.Request{}, nil, nil)
		n := testing.AllocsPerRun(200, func() {
			c := reqctx.Acquire(fc)
			c.Setup(&r.Route, -1, nil, nil, nil)
			r.Serve(c)
			reqctx.Release(c)
		})
		if n != 0 {
			t.Errorf("%T: %v allocations per request, want 0", obs, n)
		}
	}
}

// countingObserver counts the phases it is told of.
type countingObserver struct{ n *int }

func (o countingObserver) Step(StepInfo) StepObserver { return o }
func (o countingObserver) PhaseDone(*Context, reqctx.Phase, time.Duration, Outcome) {
	*o.n++
}
