// Package chain is moongate's engine: it builds the chains of a
// configuration from the registered plugins (Builder) and runs a route's
// chain of steps around the upstream call (Route.Serve), then the log
// phase on worker goroutines (FinishLog). Plugins never see it: they
// program against core/plugin, whose Context is this package's Context
// seen through the contract (see core/internal/reqctx).
//
// Every phase of every step runs through one wrapper (step.go): it hands
// the step its logger, tagged with the route and the step, and, on a
// timed chain, times the phase on the context (Context.StepTime) and
// tells the Observer (observer.go), the seam where metrics and tracing
// hang. A concern of every step belongs there, not in Route.Serve.
package chain
