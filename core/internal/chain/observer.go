package chain

import (
	"time"

	"github.com/moongate/moongate/core/internal/reqctx"
)

// Observer is told how every step of every chain does on every request:
// the seam where metrics and tracing hang. The engine times each phase of
// each step (see Route.Serve) and tells the observer right after the step
// returns, on the goroutine that ran it: the request's own for the request
// and response phases, a log worker's for the log phase.
//
// It comes in two parts so that nothing is looked up per request: Step is
// called once per step of each chain, when the chain is built (at load
// and reload), and returns the StepObserver the engine then calls for that
// step's phases; an observer makes there what it needs for the step (a
// metric with its labels, a span name). A chain with an observed step
// is timed: one clock read per step and phase (about 25 ns,
// BenchmarkClock) and two per request. The Builder's default,
// NopObserver, observes nothing and costs nothing: a chain none of whose
// steps is observed, or reads the times (plugin.StepTimesUser), is not
// timed at all.
type Observer interface {
	// Step returns what to tell of the phases of the step s, or nil to
	// be told nothing of it.
	Step(s StepInfo) StepObserver
}

// StepInfo is where a step stands, told to Observer.Step.
type StepInfo struct {
	// Route is the name of the route whose chain the step is in.
	Route string
	// Index is the step's place in the route's chain, from 0 (the global
	// steps the route keeps come first).
	Index int
	// Name is the plugin's name, or the script's path.
	Name string
}

// StepObserver is told of each phase a step ran: p (PhaseRequest,
// PhaseResponse or PhaseLog), how long it took (d, the step's time as
// Context.StepTime has it) and how it ended. It runs on the request path:
// it must be quick, must not block, and must not keep c (the request's
// context) past the call.
type StepObserver interface {
	PhaseDone(c *Context, p reqctx.Phase, d time.Duration, o Outcome)
}

// Outcome is how a phase of a step ended.
type Outcome uint8

// The outcomes.
const (
	// Passed: the step returned without answering; the request went on.
	Passed Outcome = iota
	// Answered: the step answered the request itself (Respond, Stop):
	// the rest of the request phase and the upstream were skipped.
	Answered
	// Refused: the step refused the request with a 4xx *plugin.Error
	// (401, 403, 429, ...).
	Refused
	// Failed: the step returned another error (logged; the request got
	// a 5xx, or went on under on_error = "continue"), or panicked in the
	// log phase.
	Failed
)

// String returns the outcome's name: "passed", "answered", "refused",
// "failed" (fit for a metric label).
func (o Outcome) String() string {
	switch o {
	case Answered:
		return "answered"
	case Refused:
		return "refused"
	case Failed:
		return "failed"
	}
	return "passed"
}

// NopObserver observes nothing: the Builder's observer unless told
// otherwise (Builder.Observe).
type NopObserver struct{}

// Step implements Observer: it asks to be told nothing.
func (NopObserver) Step(StepInfo) StepObserver { return nil }
