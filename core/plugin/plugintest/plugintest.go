package plugintest

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/internal/chain"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/realip"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

// NewContext returns a Context for the request in fc, as the gateway makes
// one before routing: no route, no upstream, no consumer. Call a step's
// handlers with it directly; release it with Release. ContextFor builds
// the request too.
func NewContext(fc *fasthttp.RequestCtx) *plugin.Context {
	return (*plugin.Context)(reqctx.Acquire(fc))
}

// Release returns a Context from NewContext, ContextFor or Chain.Context
// to the pool.
func Release(c *plugin.Context) { reqctx.Release((*reqctx.Context)(c)) }

// Upstream is a synthetic upstream: Forward fills c.Response (or returns
// an error, such as a *plugin.Error with 502) as a real upstream would.
// Reply is the simplest one.
type Upstream interface {
	Name() string
	Forward(c *plugin.Context) error
}

// Options configure NewChain.
type Options struct {
	// Config is the configuration the steps are built in: its [lua] and
	// [auth] settings, its [[consumers]] and its File count; its routes
	// and global steps do not. Default: config.Default(), with File
	// "(test)".
	Config *config.Config
	// Route is the route's name. Default "test".
	Route string
	// Steps are the route's steps, in order; each step's key path is
	// routes[0].plugins[i].
	Steps []config.Step
	// Store is the shared store the steps take namespaces of; nil: none.
	Store *store.Store
	// Logger is the process logger the steps and the chain log to; nil:
	// the chain keeps what is logged (Chain.Logs).
	Logger *slog.Logger
	// Upstream is the route's upstream; nil: none (a request that no step
	// answers gets 502 "route has no upstream").
	Upstream Upstream
	// Upstreams finds the upstream a step picks with SetUpstream; nil
	// finds none.
	Upstreams func(name string) Upstream
}

// Chain is a route's chain of steps, built from configuration the way
// the gateway builds it, served without a server. It is used by one
// goroutine at a time.
type Chain struct {
	route     *chain.Route
	instances []any
	trusted   *realip.Trusted
	lookup    reqctx.UpstreamLookup
	logger    *slog.Logger
	logs      *Logs    // what is logged, when the chain was given no logger
	up        Upstream // the route's upstream; nil: none
	res       *Result  // the request Do is running, nil outside Do
}

// NewChain builds the steps of o. Problems (an unknown plugin, a bad
// config key) are returned as config.Problems, as `moongate validate`
// reports them.
func NewChain(o Options) (*Chain, error) {
	base := o.Config
	if base == nil {
		base = config.Default()
		base.File = "(test)"
	}
	cfg := *base
	if o.Route == "" {
		o.Route = "test"
	}
	cfg.Plugins = nil
	cfg.Routes = []config.Route{{Name: o.Route, Paths: []string{"/"}, Plugins: o.Steps}}
	return build(&cfg, o.Store, o.Logger, o.Upstream, o.Upstreams, realip.NewTrusted(nil))
}

// build builds the chain of cfg's first route: its global steps merged
// with the route's own, as the gateway does.
func build(cfg *config.Config, st *store.Store, logger *slog.Logger, up Upstream,
	upstreams func(string) Upstream, trusted *realip.Trusted) (*Chain, error) {
	ch := &Chain{trusted: trusted, up: up}
	if logger == nil {
		ch.logs = NewLogs()
		logger = slog.New(ch.logs)
	}
	ch.logger = logger
	env := &plugin.Env{Logger: logger, Config: cfg, Store: st}
	if len(cfg.Consumers) > 0 {
		reg, err := consumer.New(cfg)
		if err != nil {
			return nil, err
		}
		env.Consumers = reg
	}
	b := chain.NewBuilder(env)
	steps := b.Chain(0)
	if ps := b.Problems(); len(ps) > 0 {
		chain.Cleanup(b.Instances())
		return nil, ps
	}
	ch.instances = b.Instances()
	ch.route = chain.NewRoute(cfg.Routes[0].Name, steps, adapter{ch: ch})
	if upstreams != nil {
		ch.lookup = func(name string) reqctx.Upstream {
			if u := upstreams(name); u != nil {
				return adapter{ch: ch, u: u}
			}
			return nil
		}
	}
	return ch, nil
}

// errNoUpstream is the gateway's answer for a route without an upstream.
var errNoUpstream = plugin.NewError(502, "route has no upstream")

// adapter is an Upstream as the engine calls it: u, or the chain's
// upstream of the moment when u is nil. Inside Do, it records the
// request as the upstream gets it.
type adapter struct {
	ch *Chain
	u  Upstream
}

func (a adapter) upstream() Upstream {
	if a.u != nil {
		return a.u
	}
	return a.ch.up
}

func (a adapter) Name() string {
	if u := a.upstream(); u != nil {
		return u.Name()
	}
	return ""
}

func (a adapter) Forward(x *reqctx.Context) error {
	res := a.ch.res
	if res != nil {
		res.Stopped = false
	}
	u := a.upstream()
	if u == nil {
		return errNoUpstream
	}
	c := (*plugin.Context)(x)
	if res != nil {
		if err := readStream(c); err != nil {
			return err
		}
		res.Sent = &fasthttp.Request{}
		c.Request.CopyTo(res.Sent)
	}
	return u.Forward(c)
}

// readStream reads a streamed request body whole, as an upstream
// receives it, and answers 413 past its limit, as the gateway's upstream
// call does.
func readStream(c *plugin.Context) error {
	if !c.Request.IsBodyStream() {
		return nil
	}
	body, err := io.ReadAll(c.Request.BodyStream())
	if errors.Is(err, errTooLarge) {
		return &plugin.Error{Status: 413, Message: "request body too large", Err: err}
	}
	if err != nil {
		return err
	}
	c.Request.SetBody(body)
	return nil
}

// SetUpstream makes u the route's upstream for the requests that follow;
// nil: none.
func (ch *Chain) SetUpstream(u Upstream) { ch.up = u }

// Close releases the steps' resources (plugin.Cleaner).
func (ch *Chain) Close() error { return chain.Cleanup(ch.instances) }

// HasLog reports whether a step of the chain has a log phase.
func (ch *Chain) HasLog() bool { return ch.route.Chain.HasLog() }

// Labels returns the steps' names (plugin names or script paths), in order.
func (ch *Chain) Labels() []string { return ch.route.Chain.Labels() }

// Instances returns the plugin instances the steps were built into, in
// the order of the configuration, for tests that call a step's methods
// directly.
func (ch *Chain) Instances() []any { return ch.instances }

// Logs returns what the steps and the chain logged so far, building
// included, one line per record (see Logs); nil when the chain was given
// a logger of its own.
func (ch *Chain) Logs() []string {
	if ch.logs == nil {
		return nil
	}
	return ch.logs.Lines()
}

// Context returns a Context for the request in fc on the chain's route,
// as the gateway has it when the chain starts. Set path parameters on
// c.Params before Serve. Finish it with Finish (or Release it).
func (ch *Chain) Context(fc *fasthttp.RequestCtx) *plugin.Context {
	c := reqctx.Acquire(fc)
	c.Setup(&ch.route.Route, -1, ch.trusted, ch.lookup, ch.logger)
	return (*plugin.Context)(c)
}

// Serve runs c through the chain: the request phase, the upstream unless
// a step answered, then the response phase, as the gateway does.
func (ch *Chain) Serve(c *plugin.Context) { ch.route.Serve((*reqctx.Context)(c)) }

// logTimeout bounds the wait for the log phase in Finish.
const logTimeout = 30 * time.Second

// Finish ends the request of c: it runs the log phase when a step has
// one, waits for it, and releases c. If the log phase does not end within
// 30 seconds, Finish returns an error and leaves c to it.
func (ch *Chain) Finish(c *plugin.Context) error {
	x := (*reqctx.Context)(c)
	if ch.route.Chain.HasLog() {
		done := make(chan struct{})
		chain.FinishLog(x, func(*reqctx.Context) { close(done) })
		select {
		case <-done:
		case <-time.After(logTimeout):
			return errors.New("the log phase did not finish within 30s")
		}
	}
	reqctx.Release(x)
	return nil
}
