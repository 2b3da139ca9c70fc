package chain

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
)

// Context is the request context the engine works on; plugins get the
// same value as a *plugin.Context (see core/internal/reqctx).
type Context = reqctx.Context

// step is one built step of a chain, with its phase handlers looked up once.
type step struct {
	id       string // identity in the merge of global and route steps
	label    string // plugin name or script path, for logs
	instance any
	req      plugin.RequestHandler
	resp     plugin.ResponseHandler
	log      plugin.LogHandler
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
// itself (see plugin.Responder), and the labels of the steps that can.
func (ch *Chain) Answers() (plugin.Answer, []string) {
	best := plugin.AnswerNever
	var labels []string
	for _, s := range ch.steps {
		r, ok := s.instance.(plugin.Responder)
		if !ok || s.req == nil {
			continue
		}
		switch a := r.Answers(); {
		case a > best:
			best, labels = a, []string{s.label}
		case a == best && a != plugin.AnswerNever:
			labels = append(labels, s.label)
		}
	}
	return best, labels
}

// HasLog reports whether a step of the chain has a log phase.
func (ch *Chain) HasLog() bool { return ch.hasLog }

// Route is a compiled route: its chain and where its requests go. The
// embedded reqctx.Route (Name, Upstream, Proxy) is what its requests know
// of it; make one with NewRoute.
type Route struct {
	reqctx.Route
	// Chain is the route's chain: the global steps merged with its own.
	Chain *Chain
	// StripPrefix removes the matched prefix from the upstream path.
	StripPrefix bool
	// Rewrite, if set, builds the upstream path from a template.
	Rewrite *Rewrite
}

// NewRoute returns a route called name running ch (nil: no steps) and
// sending its requests to up (nil: none). Set the other fields before
// it serves.
func NewRoute(name string, ch *Chain, up reqctx.Upstream) *Route {
	if ch == nil {
		ch = &Chain{}
	}
	r := &Route{Chain: ch}
	r.Name, r.Upstream, r.Engine, r.HasLog = name, up, r, ch.hasLog
	return r
}

// Serve runs c through the route: the request phase, the upstream unless a
// step answered, then the response phase in reverse order. Errors become
// error responses; Serve itself does not fail.
func (r *Route) Serve(c *Context) {
	steps := r.Chain.steps
	if r.Chain.original {
		c.KeepOriginalHeaders()
	}
	pc := (*plugin.Context)(c)
	c.SetPhase(reqctx.PhaseRequest)
	for i, s := range steps {
		c.SetDepth(i + 1)
		if s.req == nil {
			continue
		}
		if err := s.req.OnRequest(pc); err != nil {
			if stepFailed(c, s, err) {
				break
			}
			continue
		}
		if c.Answered() {
			break
		}
	}
	// The upstream's reason phrase belongs to the upstream's status.
	upstreamStatus := 0
	if !c.Answered() {
		c.SetPhase(reqctx.PhaseNone)
		r.forward(c)
		upstreamStatus = c.Response.StatusCode()
	}
	c.SetPhase(reqctx.PhaseResponse)
	for i := c.Depth() - 1; i >= 0; i-- {
		if c.HasDeferredHeaders() {
			c.ApplyResponseHeaders(i + 1)
		}
		s := steps[i]
		if s.resp == nil {
			continue
		}
		if err := s.resp.OnResponse(pc); err != nil {
			stepFailed(c, s, err)
		}
	}
	c.SetPhase(reqctx.PhaseNone)
	if c.Response.StatusCode() != upstreamStatus {
		// A step changed the status, or produced the response: the status
		// line gets the standard phrase of the status sent, never the
		// upstream's phrase of another status ("418 OK").
		c.Response.Header.SetStatusMessage(nil)
	}
}

var errNoUpstream = plugin.NewError(502, "route has no upstream")

// Forward sends c.Request to c's upstream the way the route does once
// its request phase is over (strip_prefix and rewrite applied, unless a
// step set the path) and fills c.Response; a failure becomes the
// gateway's error response (502, 503, 504). It implements reqctx.Engine,
// for detached contexts (plugin.Context.Forward).
func (r *Route) Forward(c *Context) { r.forward(c) }

func (r *Route) forward(c *Context) {
	up := c.Upstream()
	if up == nil {
		c.Error(errNoUpstream.Status, errNoUpstream.Message)
		return
	}
	if !c.PathSet() {
		r.upstreamPath(c)
	}
	if err := up.Forward(c); err != nil {
		var e *plugin.Error
		if errors.As(err, &e) {
			if e.Err != nil {
				c.LogAttrs(slog.LevelWarn, "upstream failed", slog.String("upstream", up.Name()),
					slog.Int("status", e.Status), slog.String("error", e.Err.Error()))
			}
			c.Error(e.Status, e.Message)
			return
		}
		c.LogAttrs(slog.LevelError, "upstream failed", slog.String("upstream", up.Name()), slog.String("error", err.Error()))
		c.Error(502, "bad gateway")
	}
}

// upstreamPath applies strip_prefix and rewrite.
func (r *Route) upstreamPath(c *Context) {
	segs := c.PrefixSegs()
	if r.Rewrite == nil && (!r.StripPrefix || segs < 0) {
		return
	}
	path := c.Path()
	rest := path
	if segs >= 0 {
		rest = afterSegments(path, segs)
	}
	var buf [256]byte
	var p []byte
	if r.Rewrite != nil {
		p = r.Rewrite.append(buf[:0], c, rest)
	} else {
		p = append(append(buf[:0], '/'), rest...)
	}
	c.SetUpstreamPath(p)
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
func stepFailed(c *Context, s *step, err error) bool {
	var e *plugin.Error
	if errors.As(err, &e) && e.Status < 500 {
		c.Error(e.Status, e.Message)
		return true
	}
	c.LogAttrs(slog.LevelError, "step failed", slog.String("step", s.label),
		slog.String("phase", c.Phase().String()), slog.String("error", err.Error()))
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
	env      *plugin.Env
	global   []*step
	built    []any // every instance, for Cleanup
	problems config.Problems
}

// NewBuilder builds the global chain of env.Config.
func NewBuilder(env *plugin.Env) *Builder {
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
		if u, ok := s.instance.(plugin.OriginalHeadersUser); ok && u.UsesOriginalHeaders() {
			ch.original = true
		}
	}
	return ch
}

// build builds one step; nil for a disabled step or one that failed (the
// failure is recorded).
func (b *Builder) build(st *config.Step, path, route string) *step {
	var f plugin.Factory
	var ok bool
	label := st.Name
	if st.Script != "" {
		label = st.Script
		f, ok = plugin.ScriptEngine(st.Script)
		if !ok {
			b.problem(path+".script", "no script engine for "+strconv.Quote(st.Script)+" (scripts end in .lua)")
			return nil
		}
	} else {
		f, ok = plugin.Lookup(st.Name)
		if !ok {
			names := plugin.Names()
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
	inst, err := f(plugin.Spec{Name: label, Config: st.Config, Step: *st, Path: path, Route: route, Env: b.env})
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
	s.req, _ = inst.(plugin.RequestHandler)
	s.resp, _ = inst.(plugin.ResponseHandler)
	s.log, _ = inst.(plugin.LogHandler)
	if f, ok := inst.(plugin.PhaseFilter); ok {
		if !f.Handles(plugin.PhaseRequest) {
			s.req = nil
		}
		if !f.Handles(plugin.PhaseResponse) {
			s.resp = nil
		}
		if !f.Handles(plugin.PhaseLog) {
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
		if cl, ok := inst.(plugin.Cleaner); ok {
			if err := cl.Cleanup(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
