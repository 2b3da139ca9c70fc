package plugin

import (
	"strings"

	"github.com/moongate/moongate/core/registry"
)

// RequestHandler is implemented by steps that act before the upstream is
// called. Returning an *Error with a status below 500 answers the request
// with that error (a deliberate refusal, such as 401); any other error is a
// failure of the step (500, or skipped when the step says on_error =
// "continue"). To answer with a response of its own, a step calls
// c.Respond or fills c.Response and calls c.Stop, and returns nil.
type RequestHandler interface {
	OnRequest(c *Context) error
}

// ResponseHandler is implemented by steps that act on the response, from
// the upstream or from a step, before it is written to the client. Errors
// are handled as in the request phase: the response is replaced by the
// error, and the response phase goes on with the outer steps.
type ResponseHandler interface {
	OnResponse(c *Context) error
}

// LogHandler is implemented by steps that act after the response has been
// written (access logs, metrics). OnLog runs on a worker goroutine once
// the response's write has ended: its last byte was taken by the client's
// connection, or the client went away, or the write or the body's stream
// failed; a streamed body ends when its stream does. The context holds
// copies of the request and response headers (bodies are gone: see
// Context.BodySize, RequestTime and ResponseComplete), and Fast is nil.
type LogHandler interface {
	OnLog(c *Context)
}

// LogCapturer is implemented by log steps that read what they log before
// the response is written, all but how its write went, and whose end of
// the log phase never blocks (an access log formatting a line into
// memory). When every log step of a chain is one, the chain skips the
// copy of the request's headers for the log phase and its hand-off to the
// log workers: each step's CaptureLog runs on the connection's goroutine
// once the response phase is over (the request and response as they are
// about to be written), and the FinishLog of what it returned runs right
// after the write ended, on the connection's goroutine too. Chains with
// other log steps (a script's on_log may block) call OnLog on the log
// workers, as before; so OnLog must do what CaptureLog and FinishLog do
// together.
type LogCapturer interface {
	LogHandler
	// CaptureLog takes what the step logs of c, copied into memory of
	// its own (c's request and response are reset after the write), and
	// returns it; the chain calls FinishLog on it once (not when the
	// FinishLog of an earlier step panicked, which ends the phase). It
	// must not block.
	CaptureLog(c *Context) CapturedLog
}

// CapturedLog is what a LogCapturer took of one request.
type CapturedLog interface {
	// FinishLog completes the step's log phase once the response's write
	// has ended: c's BodySize, RequestTime and ResponseComplete tell how
	// it went, its Request and Response are empty. It runs on the
	// connection's goroutine (or the one releasing the last HoldLog) and
	// must not block: no I/O, no waiting on locks held for long. It may
	// not use what it captured afterwards (pooled memory goes back here).
	FinishLog(c *Context)
}

// PhaseFilter is implemented by plugins whose phases are known only once
// built (a script has the functions it defines): the chain calls a phase
// handler only when Handles reports true for its phase.
type PhaseFilter interface {
	Handles(p Phase) bool
}

// Answer says whether a step answers requests by itself, so that its route
// needs no upstream: see Responder.
type Answer int

// The answers a Responder gives.
const (
	// AnswerNever: the step passes every request it accepts on to the
	// upstream; refusing some (401, 403, 429) does not count. It is what
	// a plugin without Responder answers.
	AnswerNever Answer = iota
	// AnswerMaybe: the step may answer requests itself, or send them to an
	// upstream of its choosing, depending on its code (a script with
	// gw.response.exit or gw.upstream.set_upstream).
	AnswerMaybe
	// AnswerAlways: the step answers every request that reaches it
	// (mock, request-termination).
	AnswerAlways
)

// Responder is implemented by plugins that answer requests by themselves.
// A route without an upstream must have a step with AnswerAlways in its
// chain, or its requests could only get 502 "route has no upstream": such
// a configuration is refused, and a chain whose best is AnswerMaybe gets a
// warning. Answers is called once, when the chain is built; only steps with
// a request phase count.
type Responder interface {
	Answers() Answer
}

// OriginalHeadersUser is implemented by plugins that read the client's
// request headers as they reached the chain, whatever earlier steps
// changed since (Context.OriginalHeaders). A chain with a step whose
// UsesOriginalHeaders reports true copies the headers before its first
// step; other chains pay nothing.
type OriginalHeadersUser interface {
	UsesOriginalHeaders() bool
}

// StepTimesUser is implemented by plugins that read how long the steps
// took (Context.StepTime), such as an access log. A chain times its
// steps (one clock read per step and phase, about 25 ns) when a step
// whose UsesStepTimes reports true is in it, or when the engine observes
// its steps for metrics or tracing; other chains pay nothing, and their
// StepTime is 0.
type StepTimesUser interface {
	UsesStepTimes() bool
}

// Cleaner is implemented by plugins holding resources (connections,
// goroutines) to release when their configuration is replaced or the
// gateway stops. Cleanup runs once, after the last request using the
// instance has finished.
type Cleaner interface {
	Cleanup() error
}

// Reopener is implemented by plugins writing to files that log rotation
// renames (an access log): on SIGUSR1 the gateway calls Reopen on every
// instance of the configuration being served, which opens its files
// again at their paths without losing a line.
type Reopener interface {
	Reopen() error
}

// Factory builds a plugin instance from its step. The instance must
// implement at least one of RequestHandler, ResponseHandler, LogHandler.
// Errors should name the offending key: return spec.Config.Problem("ttl",
// "must be more than 0s"), or the error of spec.Config.Decode as is.
// A factory has no side effects other than those its instance's Cleanup
// undoes.
type Factory func(spec Spec) (any, error)

var (
	plugins = registry.New[Factory]("plugin")
	engines = registry.New[Factory]("script engine")
)

// Register makes a plugin available under name, the name users write in
// TOML. It is meant to be called from init; an empty or duplicate name
// panics, naming both places of registration.
func Register(name string, f Factory) {
	if f == nil {
		panic("plugin: Register needs a factory")
	}
	plugins.Register(name, f)
}

// RegisterScriptEngine makes script steps whose file ends in ext (".lua")
// buildable; the factory receives the script path as Spec.Name. A
// duplicate extension panics.
func RegisterScriptEngine(ext string, f Factory) {
	if !strings.HasPrefix(ext, ".") || f == nil {
		panic("plugin: RegisterScriptEngine needs an extension such as .lua and a factory")
	}
	engines.Register(ext, f)
}

// Lookup returns the factory registered under name.
func Lookup(name string) (Factory, bool) { return plugins.Lookup(name) }

// ScriptEngine returns the factory for a script path, by its extension.
func ScriptEngine(path string) (Factory, bool) {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return nil, false
	}
	return engines.Lookup(path[i:])
}

// Names returns the registered plugin names, sorted.
func Names() []string { return plugins.Names() }
