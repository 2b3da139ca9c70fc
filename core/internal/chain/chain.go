package chain

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
)

// Context is the request context the engine works on; plugins get the
// same value as a *plugin.Context (see core/internal/reqctx).
type Context = reqctx.Context

// Chain is the ordered, immutable list of steps of one route, built once
// per configuration load and shared by all its requests.
type Chain struct {
	slots  []slot
	hasLog bool
	// captures: every log step captures its log (plugin.LogCapturer), at
	// most reqctx.MaxCaptured of them: see PrepareLog.
	captures bool
	original bool // a step reads the client's original headers
	// timed: the chain times its steps, since its observer observes one
	// of them or one of them reads the times (plugin.StepTimesUser);
	// other chains pay nothing for it.
	timed bool
}

// newChain returns the chain of route made of steps, each step with its
// logger (tagged from base; none when base is nil) and its observer.
func newChain(route string, steps []*step, base *slog.Logger, obs Observer) *Chain {
	ch := &Chain{slots: make([]slot, len(steps))}
	for i, s := range steps {
		sl := &ch.slots[i]
		sl.step, sl.index = s, i
		if base != nil {
			sl.logger = base.With(slog.String("route", route), slog.String("step", s.label))
		}
		if obs != nil {
			sl.obs = obs.Step(StepInfo{Route: route, Index: i, Name: s.label})
		}
		ch.hasLog = ch.hasLog || s.log != nil
		if u, ok := s.instance.(plugin.OriginalHeadersUser); ok && u.UsesOriginalHeaders() {
			ch.original = true
		}
		u, ok := s.instance.(plugin.StepTimesUser)
		ch.timed = ch.timed || needsTime(sl.obs) || ok && u.UsesStepTimes()
	}
	logs, captures := 0, 0
	for i := range ch.slots {
		ch.slots[i].timed = ch.timed
		if s := &ch.slots[i]; s.log != nil {
			logs++
			if s.capture != nil {
				captures++
			}
		}
	}
	ch.captures = logs > 0 && captures == logs && logs <= reqctx.MaxCaptured
	return ch
}

// start reads the clock at the start of a phase of a timed chain.
func (ch *Chain) start() time.Duration {
	if !ch.timed {
		return 0
	}
	return clock()
}

// Len returns the number of steps.
func (ch *Chain) Len() int { return len(ch.slots) }

// Labels returns the steps' names (plugin names or script paths), in order.
func (ch *Chain) Labels() []string {
	out := make([]string, len(ch.slots))
	for i := range ch.slots {
		out[i] = ch.slots[i].label
	}
	return out
}

// Answers returns the most any request step of the chain can answer by
// itself (see plugin.Responder), and the labels of the steps that can.
func (ch *Chain) Answers() (plugin.Answer, []string) {
	best := plugin.AnswerNever
	var labels []string
	for i := range ch.slots {
		s := &ch.slots[i]
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
	// TimeUpstream times the upstream call into the context
	// (Context.UpstreamTime): two clock reads per request that goes
	// upstream, for the metrics.
	TimeUpstream bool
}

// NewRoute returns a route called name running ch (nil: no steps) and
// sending its requests to up (nil: none). Set the other fields before
// it serves.
func NewRoute(name string, ch *Chain, up reqctx.Upstream) *Route {
	if ch == nil {
		ch = &Chain{}
	}
	r := &Route{Chain: ch}
	r.Name, r.Upstream, r.Engine, r.HasLog, r.Index = name, up, r, ch.hasLog, -1
	r.Steps = ch.Labels()
	return r
}

// Serve runs c through the route: the request phase, the upstream unless a
// step answered, then the response phase in reverse order. Errors become
// error responses; Serve itself does not fail.
//
// On a timed chain, each phase of each step is timed (Context.StepTime,
// Observer) from the end of the step before it in the phase, or the
// phase's start, to its own end: one clock read per step, shared with
// the next; the engine's work between two steps counts to the later one.
// The upstream call is no step's.
func (r *Route) Serve(c *Context) {
	ch := r.Chain
	if ch.original {
		c.KeepOriginalHeaders()
	}
	if ch.hasLog {
		c.KeepRoutedPath()
	}
	t := ch.requestPhase(c)
	// The upstream's reason phrase belongs to the upstream's status.
	upstreamStatus := 0
	if !c.Answered() {
		c.SetPhase(reqctx.PhaseNone)
		t = -1
		if r.TimeUpstream {
			t0 := clock()
			r.forward(c)
			t = clock()
			c.SetUpstreamTime(t - t0)
			if !ch.timed {
				t = -1
			}
		} else {
			r.forward(c)
		}
		upstreamStatus = c.Response.StatusCode()
	}
	ch.responsePhase(c, t)
	if c.Response.StatusCode() != upstreamStatus {
		// A step changed the status, or produced the response: the status
		// line gets the standard phrase of the status sent, never the
		// upstream's phrase of another status ("418 OK").
		c.Response.Header.SetStatusMessage(nil)
	}
}

// requestPhase runs the request phase of the steps, in order, until one
// answers, and returns the clock when it ended (-1 for a chain without
// steps).
func (ch *Chain) requestPhase(c *Context) time.Duration {
	c.SetPhase(reqctx.PhaseRequest)
	if len(ch.slots) == 0 {
		return -1
	}
	t := ch.start()
	for i := range ch.slots {
		s := &ch.slots[i]
		c.SetDepth(i + 1)
		if s.req == nil {
			continue
		}
		var stop bool
		if stop, t = s.onRequest(c, t); stop {
			break
		}
	}
	return t
}

// responsePhase runs the response phase of the steps whose request phase
// ran, in reverse order, from t on the clock (-1: from now).
func (ch *Chain) responsePhase(c *Context, t time.Duration) {
	c.SetPhase(reqctx.PhaseResponse)
	if t < 0 && c.Depth() > 0 {
		t = ch.start()
	}
	for i := c.Depth() - 1; i >= 0; i-- {
		if c.HasDeferredHeaders() {
			c.ApplyResponseHeaders(i + 1)
		}
		if s := &ch.slots[i]; s.resp != nil {
			t = s.onResponse(c, t)
		}
	}
	c.SetPhase(reqctx.PhaseNone)
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
