package chain

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/config"
)

// step is one built step of a chain, with its phase handlers looked up once.
type step struct {
	id       string // identity in the merge of global and route steps
	label    string // plugin name or script path, for logs
	instance any
	req      RequestHandler
	resp     ResponseHandler
	log      LogHandler
	cont     bool // on_error = "continue"
}

// Chain is the ordered, immutable list of steps of one route, built once
// per configuration load and shared by all its requests.
type Chain struct {
	steps    []*step
	hasLog   bool
	original bool // a step reads the client's original headers
}

// Len returns the number of steps.
func (ch *Chain) Len() int { return len(ch.steps) }

// Labels returns the steps' names (plugin names or script paths), in order.
func (ch *Chain) Labels() []string {
	out := make([]string, len(ch.steps))
	for i, s := range ch.steps {
		out[i] = s.label
	}
	return out
}

// Answers returns the most any request step of the chain can answer by
// itself (see Responder), and the labels of the steps that can.
func (ch *Chain) Answers() (Answer, []string) {
	best := AnswerNever
	var labels []string
	for _, s := range ch.steps {
		r, ok := s.instance.(Responder)
		if !ok || s.req == nil {
			continue
		}
		switch a := r.Answers(); {
		case a > best:
			best, labels = a, []string{s.label}
		case a == best && a != AnswerNever:
			labels = append(labels, s.label)
		}
	}
	return best, labels
}

// HasLog reports whether a step of the chain has a log phase.
func (ch *Chain) HasLog() bool { return ch.hasLog }

// Route is a compiled route: its chain and where its requests go.
type Route struct {
	// Name is the route's name.
	Name string
	// Chain is the route's chain: the global steps merged with its own.
	Chain *Chain
	// Upstream is the route's upstream, nil if it has none.
	Upstream Forwarder
	// PreserveHost sends the client's Host header upstream.
	PreserveHost bool
	// StripPrefix removes the matched prefix from the upstream path.
	StripPrefix bool
	// Rewrite, if set, builds the upstream path from a template.
	Rewrite *Rewrite
	// Proxy holds the route's settings for its upstream call.
	Proxy ProxyOptions
}

// ProxyOptions are a route's overrides of its upstream's timeouts and
// retries, and what it lets through; zero durations mean the upstream's.
type ProxyOptions struct {
	Timeout        time.Duration // one try
	ConnectTimeout time.Duration
	Deadline       time.Duration // all tries
	// Retries is the most retries: 0 for the upstream's setting, negative
	// for none.
	Retries int
	// RetryNonIdempotent lets non-idempotent methods be retried.
	RetryNonIdempotent bool
	// WebSocket lets "Upgrade: websocket" requests through.
	WebSocket bool
}

// Serve runs c through the route: the request phase, the upstream unless a
// step answered, then the response phase in reverse order. Errors become
// error responses; Serve itself does not fail.
func (r *Route) Serve(c *Context) {
	steps := r.Chain.steps
	if r.Chain.original {
		c.keepOriginalHeaders()
	}
	c.phase = PhaseRequest
	for i, s := range steps {
		c.depth = i + 1
		if s.req == nil {
			continue
		}
		if err := s.req.OnRequest(c); err != nil {
			if c.stepFailed(s, err) {
				break
			}
			continue
		}
		if c.answered {
			break
		}
	}
	// The upstream's reason phrase belongs to the upstream's status.
	upstreamStatus := 0
	if !c.answered {
		c.phase = PhaseNone
		r.forward(c)
		upstreamStatus = c.Response.StatusCode()
	}
	c.phase = PhaseResponse
	for i := c.depth - 1; i >= 0; i-- {
		if len(c.respHeaders) > 0 {
			c.applyResponseHeaders(i + 1)
		}
		s := steps[i]
		if s.resp == nil {
			continue
		}
		if err := s.resp.OnResponse(c); err != nil {
			c.stepFailed(s, err)
		}
	}
	c.phase = PhaseNone
	if c.Response.StatusCode() != upstreamStatus {
		// A step changed the status, or produced the response: the status
		// line gets the standard phrase of the status sent, never the
		// upstream's phrase of another status ("418 OK").
		c.Response.Header.SetStatusMessage(nil)
	}
}

var errNoUpstream = NewError(502, "route has no upstream")

func (r *Route) forward(c *Context) {
	if c.Upstream == nil {
		c.Error(errNoUpstream.Status, errNoUpstream.Message)
		return
	}
	if !c.pathSet {
		r.upstreamPath(c)
	}
	if err := c.Upstream.Forward(c); err != nil {
		var e *Error
		if errors.As(err, &e) {
			if e.Err != nil {
				c.LogAttrs(slog.LevelWarn, "upstream failed", slog.String("upstream", c.Upstream.Name()),
					slog.Int("status", e.Status), slog.String("error", e.Err.Error()))
			}
			c.Error(e.Status, e.Message)
			return
		}
		c.LogAttrs(slog.LevelError, "upstream failed", slog.String("upstream", c.Upstream.Name()), slog.String("error", err.Error()))
		c.Error(502, "bad gateway")
	}
}

// upstreamPath applies strip_prefix and rewrite.
func (r *Route) upstreamPath(c *Context) {
	if r.Rewrite == nil && (!r.StripPrefix || c.prefixSegs < 0) {
		return
	}
	path := c.Path()
	rest := path
	if c.prefixSegs >= 0 {
		rest = afterSegments(path, c.prefixSegs)
	}
	var buf [256]byte
	var p []byte
	if r.Rewrite != nil {
		p = r.Rewrite.append(buf[:0], c, rest)
	} else {
		p = append(append(buf[:0], '/'), rest...)
	}
	c.setPath(p)
}

// afterSegments returns what follows the first n segments of path, without
// a leading slash.
func afterSegments(path []byte, n int) []byte {
	rest := path
	if len(rest) > 0 && rest[0] == '/' {
		rest = rest[1:]
	}
	for ; n > 0 && len(rest) > 0; n-- {
		i := 0
		for i < len(rest) && rest[i] != '/' {
			i++
		}
		if i < len(rest) {
			i++
		}
		rest = rest[i:]
	}
	return rest
}

// stepFailed handles an error returned by step s and reports whether the
// current phase must stop. A 4xx *Error is the step's deliberate answer;
// anything else is a failure, logged, then skipped (on_error = "continue")
// or answered with 500 (or the error's own 5xx status). The log line
// names the route, the step and the error (a script's error starts with
// its file and line); the client's answer names none of them.
func (c *Context) stepFailed(s *step, err error) bool {
	var e *Error
	if errors.As(err, &e) && e.Status < 500 {
		c.Error(e.Status, e.Message)
		return true
	}
	c.LogAttrs(slog.LevelError, "step failed", slog.String("step", s.label),
		slog.String("phase", c.phase.String()), slog.String("error", err.Error()))
	if s.cont {
		return false
	}
	if e != nil {
		c.Error(e.Status, e.Message)
	} else {
		c.Error(500, "internal error")
	}
	return true
}

// Rewrite is a compiled upstream path template: literal text, path
// parameters "{name}" and "{*}", what follows the matched prefix.
type Rewrite struct {
	parts []rewritePart
}

type rewritePart struct {
	lit   string
	param string // "" for literal, "*" for the rest
}

// NewRewrite compiles a template such as "/v2/users/{id}" or "/v1/{*}".
func NewRewrite(tmpl string) *Rewrite {
	rw := &Rewrite{}
	for tmpl != "" {
		i := strings.IndexByte(tmpl, '{')
		j := strings.IndexByte(tmpl, '}')
		if i < 0 || j < i {
			rw.parts = append(rw.parts, rewritePart{lit: tmpl})
			break
		}
		if i > 0 {
			rw.parts = append(rw.parts, rewritePart{lit: tmpl[:i]})
		}
		rw.parts = append(rw.parts, rewritePart{param: tmpl[i+1 : j]})
		tmpl = tmpl[j+1:]
	}
	return rw
}

func (rw *Rewrite) append(dst []byte, c *Context, rest []byte) []byte {
	for _, p := range rw.parts {
		switch p.param {
		case "":
			dst = append(dst, p.lit...)
		case "*":
			dst = append(dst, rest...)
		default:
			dst = append(dst, c.Params.Get(p.param)...)
		}
	}
	return dst
}

// Builder builds the chains of one configuration. Global steps are built
// once and shared by every route that keeps them.
type Builder struct {
	env      *Env
	global   []*step
	built    []any // every instance, for Cleanup
	problems config.Problems
}

// NewBuilder builds the global chain of env.Config.
func NewBuilder(env *Env) *Builder {
	b := &Builder{env: env}
	for i := range env.Config.Plugins {
		// One entry per global step, nil when disabled, so that indexes
		// match the configuration's in Chain.
		b.global = append(b.global, b.build(&env.Config.Plugins[i], "plugins["+strconv.Itoa(i)+"]", ""))
	}
	return b
}

// Chain builds the chain of route i: the global steps, where a route step
// with the same name replaces a global step in place (enabled = false
// removes it for this route), then the route's other steps in order.
func (b *Builder) Chain(i int) *Chain {
	r := &b.env.Config.Routes[i]
	steps := make([]*step, len(b.global))
	copy(steps, b.global)
	ids := make([]string, len(b.env.Config.Plugins))
	for j := range b.env.Config.Plugins {
		ids[j] = b.env.Config.Plugins[j].ID()
	}
	for j := range r.Plugins {
		st := &r.Plugins[j]
		s := b.build(st, "routes["+strconv.Itoa(i)+"].plugins["+strconv.Itoa(j)+"]", r.Name)
		replaced := false
		for k, id := range ids {
			if id != "" && id == st.ID() {
				steps[k] = s
				replaced = true
				break
			}
		}
		if !replaced && s != nil {
			steps = append(steps, s)
			ids = append(ids, st.ID())
		}
	}
	ch := &Chain{}
	for _, s := range steps {
		if s == nil {
			continue
		}
		ch.steps = append(ch.steps, s)
		ch.hasLog = ch.hasLog || s.log != nil
		if u, ok := s.instance.(OriginalHeadersUser); ok && u.UsesOriginalHeaders() {
			ch.original = true
		}
	}
	return ch
}

// build builds one step; nil for a disabled step or one that failed (the
// failure is recorded).
func (b *Builder) build(st *config.Step, path, route string) *step {
	var f Factory
	var ok bool
	label := st.Name
	if st.Script != "" {
		label = st.Script
		f, ok = ScriptEngine(st.Script)
		if !ok {
			b.problem(path+".script", "no script engine for "+strconv.Quote(st.Script)+" (scripts end in .lua)")
			return nil
		}
	} else {
		f, ok = Lookup(st.Name)
		if !ok {
			names := Names()
			hint := "known: " + strings.Join(names, ", ")
			if s := config.Suggest(st.Name, names); s != "" {
				hint = "did you mean " + strconv.Quote(s) + "?"
			}
			b.problem(path+".name", "unknown plugin "+strconv.Quote(st.Name)+" ("+hint+")")
			return nil
		}
	}
	if !st.Enabled {
		return nil
	}
	inst, err := f(Spec{Name: label, Config: st.Config, Step: *st, Path: path, Route: route, Env: b.env})
	if err != nil {
		var ps config.Problems
		var p config.Problem
		switch {
		case errors.As(err, &ps):
			b.problems = append(b.problems, ps...)
		case errors.As(err, &p):
			b.problems = append(b.problems, p)
		default:
			b.problem(path, "plugin "+strconv.Quote(label)+": "+err.Error())
		}
		return nil
	}
	s := &step{id: st.ID(), label: label, instance: inst, cont: st.OnError == "continue"}
	s.req, _ = inst.(RequestHandler)
	s.resp, _ = inst.(ResponseHandler)
	s.log, _ = inst.(LogHandler)
	if f, ok := inst.(PhaseFilter); ok {
		if !f.Handles(PhaseRequest) {
			s.req = nil
		}
		if !f.Handles(PhaseResponse) {
			s.resp = nil
		}
		if !f.Handles(PhaseLog) {
			s.log = nil
		}
	}
	if s.req == nil && s.resp == nil && s.log == nil {
		b.problem(path, "plugin "+strconv.Quote(label)+" implements no phase")
		return nil
	}
	b.built = append(b.built, inst)
	return s
}

func (b *Builder) problem(path, reason string) {
	b.problems = append(b.problems, b.env.Config.Problem(path, reason))
}

// Problems returns what went wrong building steps.
func (b *Builder) Problems() config.Problems { return b.problems }

// Instances returns every plugin instance built, for Cleanup.
func (b *Builder) Instances() []any { return b.built }

// Cleanup calls Cleanup on every instance that has it and returns the
// errors joined.
func Cleanup(instances []any) error {
	var errs []error
	for _, inst := range instances {
		if cl, ok := inst.(Cleaner); ok {
			if err := cl.Cleanup(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
