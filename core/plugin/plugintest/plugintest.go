// Package plugintest runs plugins without a gateway: it builds a request
// Context for a hand-made fasthttp request, and a route's chain of steps
// from configuration, as the gateway builds them, with a synthetic
// upstream. Plugin tests and benchmarks use it, and so does the Lua
// harness behind `moongate script run` and `moongate script test`.
package plugintest

import (
	"errors"
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
// handlers with it directly; release it with Release.
func NewContext(fc *fasthttp.RequestCtx) *plugin.Context {
	return (*plugin.Context)(reqctx.Acquire(fc))
}

// Release returns a Context from NewContext or Chain.Context to the pool.
func Release(c *plugin.Context) { reqctx.Release((*reqctx.Context)(c)) }

// Upstream is a synthetic upstream: Forward fills c.Response (or returns
// an error, such as a *plugin.Error with 502) as a real upstream would.
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
	// slog.Default.
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
	env := &plugin.Env{Logger: o.Logger, Config: &cfg, Store: o.Store}
	if len(cfg.Consumers) > 0 {
		reg, err := consumer.New(&cfg)
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
	ch := &Chain{instances: b.Instances(), trusted: realip.NewTrusted(nil), logger: o.Logger}
	var up reqctx.Upstream
	if o.Upstream != nil {
		up = adapter{o.Upstream}
	}
	ch.route = chain.NewRoute(o.Route, steps, up)
	if o.Upstreams != nil {
		ch.lookup = func(name string) reqctx.Upstream {
			if u := o.Upstreams(name); u != nil {
				return adapter{u}
			}
			return nil
		}
	}
	return ch, nil
}

// adapter is an Upstream as the engine calls it.
type adapter struct{ u Upstream }

func (a adapter) Name() string                    { return a.u.Name() }
func (a adapter) Forward(c *reqctx.Context) error { return a.u.Forward((*plugin.Context)(c)) }

// Close releases the steps' resources (plugin.Cleaner).
func (ch *Chain) Close() error { return chain.Cleanup(ch.instances) }

// HasLog reports whether a step of the chain has a log phase.
func (ch *Chain) HasLog() bool { return ch.route.Chain.HasLog() }

// Labels returns the steps' names (plugin names or script paths), in order.
func (ch *Chain) Labels() []string { return ch.route.Chain.Labels() }

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
