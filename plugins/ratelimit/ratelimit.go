package ratelimit

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
)

func init() {
	plugin.Register("rate-limit", New)
	plugin.RegisterLimits(NewNamed)
}

// fallbackLogInterval is how often a step deciding without Redis says so
// again in the log, after the line of the failure itself.
const fallbackLogInterval = 10 * time.Second

// Plugin is one rate-limit step. It is safe for concurrent use: the
// decision of a request travels from the request phase to the response
// phase in the request's context.
type Plugin struct {
	s       *settings
	limiter ratelimit.Limiter
	local   *ratelimit.Local // policy "local"
	redis   *ratelimit.Redis // policy "redis"
	status  int

	// Who the step is, for logs and GET /rate-limits; name is the name of
	// an entry of [[rate_limits]].
	route, path, name string
	cfg               *config.Config // the configuration it was built in
	logger            *slog.Logger

	// valueKey names the decision among the request's values.
	valueKey string
	states   sync.Pool // *state

	refused atomic.Uint64
	passed  atomic.Uint64 // requests without a key, with missing_key = "pass"
	// lastLog is when the step last said in the log that it decides
	// without Redis (unix nanoseconds).
	lastLog atomic.Int64
	// policy is the last RateLimit-Policy value written, with the
	// windows it describes: a step's windows seldom change (a node count
	// that divides them), so the value is formatted once, not per request.
	policy atomic.Pointer[policyValue]
}

// policyValue is a RateLimit-Policy field value and what it was made of.
type policyValue struct {
	windows []ratelimit.WindowState // Name, Limit and Window only
	value   []byte
}

// describes reports whether v was made from the policy of ws.
func (v *policyValue) describes(ws []ratelimit.WindowState) bool {
	if len(v.windows) != len(ws) {
		return false
	}
	for i := range ws {
		a, b := &v.windows[i], &ws[i]
		if a.Name != b.Name || a.Limit != b.Limit || a.Window != b.Window {
			return false
		}
	}
	return true
}

// policyOf returns the RateLimit-Policy value of res, formatted once
// while the windows stay the same.
func (p *Plugin) policyOf(res *ratelimit.Result) []byte {
	if v := p.policy.Load(); v != nil && v.describes(res.Windows) {
		return v.value
	}
	v := &policyValue{value: res.AppendRateLimitPolicy(nil)}
	for _, w := range res.Windows {
		v.windows = append(v.windows, ratelimit.WindowState{Name: w.Name, Limit: w.Limit, Window: w.Window})
	}
	p.policy.Store(v)
	return v.value
}

// The header names the step writes, canonical already (SetCanonical
// skips the normalisation SetBytesV does).
var (
	headerRetryAfter         = []byte("Retry-After")
	headerRateLimitPolicy    = []byte("Ratelimit-Policy")
	headerRateLimit          = []byte("Ratelimit")
	headerRateLimitLimit     = []byte("Ratelimit-Limit")
	headerRateLimitRemaining = []byte("Ratelimit-Remaining")
	headerRateLimitReset     = []byte("Ratelimit-Reset")
)

// state is one request's decision, from OnRequest to OnResponse.
type state struct {
	res ratelimit.Result
	key []byte
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)
	_ plugin.Cleaner         = (*Plugin)(nil)
)

// New builds a rate-limit step from its configuration.
func New(spec plugin.Spec) (any, error) {
	cfg := defaults()
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	s, err := compile(spec, &cfg)
	if err != nil {
		return nil, err
	}
	return build(spec, s)
}

// NewNamed builds an entry of [[rate_limits]]: the limiter scripts call
// by name (gw.ratelimit.check). It is a plugin.LimitFactory.
func NewNamed(spec plugin.Spec) (ratelimit.Limiter, error) {
	cfg := countingDefaults()
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	s, err := compileNamed(spec, &cfg)
	if err != nil {
		return nil, err
	}
	p, err := build(spec, s)
	if err != nil {
		return nil, err
	}
	p.name = spec.Name
	p.logger = p.logger.With("rate_limit", spec.Name)
	return &Named{p}, nil
}

// build makes the step (or named limit) of the compiled settings s.
func build(spec plugin.Spec, s *settings) (*Plugin, error) {
	p := &Plugin{s: s, status: 429, route: spec.Route, path: spec.Path, cfg: spec.Settings(), logger: spec.Logger()}
	p.valueKey = "rate-limit:" + spec.Path
	p.states.New = func() any { return &state{key: make([]byte, 0, 64)} }
	var err error
	if s.redis {
		o := s.ropts
		o.OnDown, o.OnUp = p.redisDown, p.redisUp
		if p.redis, err = ratelimit.NewRedis(spec.Redis(), s.limit, o); err != nil {
			return nil, spec.Config.Problem("", err.Error())
		}
		p.limiter = p.redis
	} else {
		if p.local, err = ratelimit.NewLocal(s.limit, s.local); err != nil {
			return nil, spec.Config.Problem("", err.Error())
		}
		p.limiter = p.local
	}
	p.metrics(spec.Metrics())
	steps.Add(p)
	return p, nil
}

// Named is an entry of [[rate_limits]]: a limit that scripts call by
// name, counted like a step's (and listed with them by GET
// /rate-limits). It is safe for concurrent use.
type Named struct{ p *Plugin }

var (
	_ ratelimit.Limiter = (*Named)(nil)
	_ plugin.Cleaner    = (*Named)(nil)
)

// Allow implements ratelimit.Limiter.
func (n *Named) Allow(ctx context.Context, key []byte, res *ratelimit.Result) {
	n.AllowN(ctx, key, 1, res)
}

// AllowN implements ratelimit.Limiter: the limit's decision, counted and
// logged like a step's.
func (n *Named) AllowN(ctx context.Context, key []byte, cost int64, res *ratelimit.Result) {
	p := n.p
	p.limiter.AllowN(ctx, key, cost, res)
	if res.Source > ratelimit.SourceRedis {
		p.withoutRedis(p.logger, res)
	}
	if !res.Allowed {
		p.refused.Add(1)
	}
}

// Cleanup implements plugin.Cleaner: the limit leaves GET /rate-limits.
func (n *Named) Cleanup() error { return n.p.Cleanup() }

// Cleanup implements plugin.Cleaner: the step leaves GET /rate-limits.
func (p *Plugin) Cleanup() error {
	steps.Remove(p)
	return nil
}

// OnRequest decides the request: over the limit, it answers 429 with the
// gateway's JSON error. The header fields are written in OnResponse, on
// whatever response the request gets.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	st := p.states.Get().(*state)
	var complete bool
	st.key, complete = p.s.key.Append(st.key[:0], c)
	if !complete && p.s.pass {
		p.states.Put(st)
		p.passed.Add(1)
		return nil
	}
	p.limiter.Allow(context.Background(), st.key, &st.res)
	c.SetValue(p.valueKey, st)
	if st.res.Source > ratelimit.SourceRedis {
		p.withoutRedis(c.Logger(), &st.res)
	}
	if !st.res.Allowed {
		p.refused.Add(1)
		c.Error(p.status, p.s.message)
	}
	return nil
}

// OnResponse writes the rate-limit header fields of the decision, and
// Retry-After on a refusal.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	st, _ := c.Value(p.valueKey).(*state)
	if st == nil {
		return nil
	}
	c.SetValue(p.valueKey, nil)
	p.writeHeaders(c, &st.res)
	p.states.Put(st)
	return nil
}

func (p *Plugin) writeHeaders(c *plugin.Context, res *ratelimit.Result) {
	h := &c.Response.Header
	buf := c.Scratch()
	if !res.Allowed {
		buf = strconv.AppendInt(buf[:0], res.RetryAfterSeconds(), 10)
		h.SetCanonical(headerRetryAfter, buf)
	}
	if len(res.Windows) > 0 {
		switch p.s.headers {
		case headersDraft:
			h.SetCanonical(headerRateLimitPolicy, p.policyOf(res))
			buf = res.AppendRateLimit(buf[:0])
			h.SetCanonical(headerRateLimit, buf)
		case headersLegacy:
			w := &res.Windows[res.Tightest()]
			buf = strconv.AppendInt(buf[:0], w.Limit, 10)
			h.SetCanonical(headerRateLimitLimit, buf)
			buf = strconv.AppendInt(buf[:0], w.Remaining, 10)
			h.SetCanonical(headerRateLimitRemaining, buf)
			buf = strconv.AppendInt(buf[:0], w.ResetSeconds(), 10)
			h.SetCanonical(headerRateLimitReset, buf)
		}
	}
	c.KeepScratch(buf)
}

// redisDown is called once when Redis fails (RedisOptions.OnDown).
func (p *Plugin) redisDown(err error) {
	p.lastLog.Store(time.Now().UnixNano())
	p.logger.Warn("rate-limit: redis failed, deciding without it until it answers again",
		"route", p.route, "step", p.path, "on_redis_error", p.s.ropts.OnError.String(),
		"nodes", p.s.ropts.Nodes, "error", err.Error())
}

// redisUp is called once when Redis answers again (RedisOptions.OnUp).
func (p *Plugin) redisUp() {
	st := p.redis.Stats()
	p.logger.Info("rate-limit: redis answers again, deciding on it", "route", p.route, "step", p.path,
		"fallbacks", st.Fallbacks)
}

// withoutRedis notes a decision taken without Redis: at most one log line
// per fallbackLogInterval while it lasts.
func (p *Plugin) withoutRedis(logger *slog.Logger, res *ratelimit.Result) {
	now := time.Now().UnixNano()
	last := p.lastLog.Load()
	if now-last < int64(fallbackLogInterval) || !p.lastLog.CompareAndSwap(last, now) {
		return
	}
	st := p.redis.Stats()
	reason := ""
	if res.Err != nil {
		reason = res.Err.Error()
	}
	logger.LogAttrs(context.Background(), slog.LevelWarn, "rate-limit: still deciding without redis", slog.String("step", p.path),
		slog.String("on_redis_error", p.s.ropts.OnError.String()), slog.Uint64("fallbacks", st.Fallbacks),
		slog.Uint64("errors", st.Errors), slog.String("error", reason))
}

// metrics puts the step's counters on GET /metrics, read when it is
// scraped: nothing more per request.
func (p *Plugin) metrics(m *plugin.Metrics) {
	labels := []string{"route", p.route, "step", p.path}
	m.CounterFunc("moongate_ratelimit_refused_total", func() float64 { return float64(p.refused.Load()) }, labels...)
	if p.redis == nil {
		return
	}
	r := p.redis
	m.CounterFunc("moongate_ratelimit_redis_calls_total", func() float64 { return float64(r.Stats().Calls) }, labels...)
	m.CounterFunc("moongate_ratelimit_redis_errors_total", func() float64 { return float64(r.Stats().Errors) }, labels...)
	m.CounterFunc("moongate_ratelimit_redis_timeouts_total", func() float64 { return float64(r.Stats().Timeouts) }, labels...)
	m.CounterFunc("moongate_ratelimit_redis_fallbacks_total", func() float64 { return float64(r.Stats().Fallbacks) }, labels...)
	m.GaugeFunc("moongate_ratelimit_redis_down", func() float64 {
		if r.Stats().Down {
			return 1
		}
		return 0
	}, labels...)
}
