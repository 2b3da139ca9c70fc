package chain

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// capturer is a log step that captures its log (plugin.LogCapturer):
// its capture takes the request's path, its finish records what it took
// with what the context then says of the write. capture or finish set
// to "panic" panics there.
type capturer struct {
	name, capture, finish string
	seen                  *finished
}

type finished struct {
	mu    sync.Mutex
	lines []string
}

func (f *finished) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.lines, "\n")
}

func (s capturer) OnLog(c *plugin.Context) {
	s.seen.mu.Lock()
	defer s.seen.mu.Unlock()
	s.seen.lines = append(s.seen.lines, s.name+" OnLog")
}

func (s capturer) CaptureLog(c *plugin.Context) plugin.CapturedLog {
	if s.capture == "panic" {
		panic("boom")
	}
	return &capturedPath{s: s, path: string(c.Path())}
}

type capturedPath struct {
	s    capturer
	path string
}

func (x *capturedPath) FinishLog(c *plugin.Context) {
	if x.s.finish == "panic" {
		panic("boom")
	}
	x.s.seen.mu.Lock()
	defer x.s.seen.mu.Unlock()
	x.s.seen.lines = append(x.s.seen.lines, fmt.Sprintf("%s %s sent %d complete %v, request now %q",
		x.s.name, x.path, c.BodySize(), c.ResponseComplete(), c.Request.URI().RequestURI()))
}

func capturerStep(s capturer) *step {
	return &step{label: s.name, instance: s, log: s, capture: s}
}

// TestChainCapturesOnlyWhenEveryLogStepDoes: a chain captures its log
// when all its log steps capture, and there are at most MaxCaptured of
// them; one step that only has OnLog (a script) sends the whole phase to
// the log workers.
func TestChainCapturesOnlyWhenEveryLogStepDoes(t *testing.T) {
	seen := &finished{}
	capt := func(name string) *step { return capturerStep(capturer{name: name, seen: seen}) }
	many := []*step{}
	for i := 0; i <= reqctx.MaxCaptured; i++ {
		many = append(many, capt(fmt.Sprint("c", i)))
	}
	for _, tc := range []struct {
		name  string
		steps []*step
		want  bool
	}{
		{"no log step", []*step{scriptedStep("auth", scripted{req: "pass"}, false)}, false},
		{"capturers and a request step", []*step{capt("a"), scriptedStep("auth", scripted{req: "pass"}, false), capt("b")}, true},
		{"a capturer and a script's on_log", []*step{capt("a"), scriptedStep("script", scripted{log: "pass"}, false)}, false},
		{"MaxCaptured capturers", many[:reqctx.MaxCaptured], true},
		{"one capturer more", many, false},
	} {
		if got := newChain("r", tc.steps, nil, nil).captures; got != tc.want {
			t.Errorf("%s: captures = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// serveCaptured runs a request for path through r, captures its log as
// the gateway does before the write, then reuses the fasthttp request for
// another one (as fasthttp does once the response is written), and
// finishes the log phase with sent body bytes. It returns once done ran.
func serveCaptured(t *testing.T, r *Route, path string, sent int64) {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, nil, nil)
	fc.Request.SetRequestURI(path)
	c := reqctx.Acquire(fc)
	c.Setup(&r.Route, -1, nil, nil, slog.New(slog.DiscardHandler))
	r.Serve(c)
	released := false
	PrepareLog(c, func(c *Context) { reqctx.Release(c); released = true })
	fc.Request.Reset()
	fc.Request.SetRequestURI("/next-request")
	c.WriteEnded(time.Now(), sent, true)
	EndLog(c)
	if !released {
		t.Fatal("EndLog returned before the context was released")
	}
}

// TestCapturedLogFinishesAfterTheWrite: each log step captures what it
// logs before the write, and finishes, in chain order, on the caller's
// goroutine once the write ended: with what it captured (not what the
// reused request holds by then), the bytes sent, and an empty request.
// OnLog is not called.
func TestCapturedLogFinishesAfterTheWrite(t *testing.T) {
	seen := &finished{}
	rec := &recorder{}
	ch := newChain("r", []*step{
		capturerStep(capturer{name: "first", seen: seen}),
		scriptedStep("auth", scripted{req: "pass"}, false),
		capturerStep(capturer{name: "second", seen: seen}),
	}, nil, rec)
	r := NewRoute("r", ch, statusUpstream{})
	serveCaptured(t, r, "/users/42?page=2", 13)
	want := `first /users/42 sent 13 complete true, request now "/"
second /users/42 sent 13 complete true, request now "/"`
	if got := seen.String(); got != want {
		t.Errorf("finished:\n%s\nwant:\n%s", got, want)
	}
	if got := rec.lines(); !strings.Contains(got, "r/0/first log passed") || !strings.Contains(got, "r/2/second log passed") {
		t.Errorf("the observer was not told of both log phases:\n%s", got)
	}
}

// TestCapturedLogPanics: a capture that panics leaves its step out of the
// phase (Failed) and the others log; a finish that panics ends the phase
// for the steps after it (as a panicking OnLog does). Either way the
// context is released and the request was served.
func TestCapturedLogPanics(t *testing.T) {
	for _, tc := range []struct {
		name       string
		first      capturer
		want       string
		wantFailed string
	}{
		{"capture panics", capturer{name: "first", capture: "panic"},
			`second /a sent 1 complete true, request now "/"`, "r/0/first log failed"},
		{"finish panics", capturer{name: "first", finish: "panic"}, ``, "r/0/first log failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := &finished{}
			tc.first.seen = seen
			rec := &recorder{}
			ch := newChain("r", []*step{capturerStep(tc.first), capturerStep(capturer{name: "second", seen: seen})}, nil, rec)
			serveCaptured(t, NewRoute("r", ch, statusUpstream{}), "/a", 1)
			if got := seen.String(); got != tc.want {
				t.Errorf("finished:\n%s\nwant:\n%s", got, tc.want)
			}
			if got := rec.lines(); !strings.Contains(got, tc.wantFailed) {
				t.Errorf("observed:\n%s\nwant %q", got, tc.wantFailed)
			}
		})
	}
}
