package gateway

import (
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/authstep"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/internal/chain"
	"github.com/moongate/moongate/core/internal/metric"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/realip"
	"github.com/moongate/moongate/core/router"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/core/upstream"
	"github.com/redis/go-redis/v9"
)

// Runtime is everything the request path needs, compiled from one
// configuration. It is immutable; a reload builds a new one.
type Runtime struct {
	// Config is the configuration the runtime was built from, without its
	// [[consumers]]: the consumer registry and the indexes of their
	// credentials hold what requests need of them, compactly.
	Config *config.Config

	router    *router.Router
	matches   []match // by router ID
	routes    []*chain.Route
	upstreams map[string]*upstream.Upstream
	trusted   *realip.Trusted
	logger    *slog.Logger
	lookup    reqctx.UpstreamLookup
	instances []any
	ownRedis  redis.UniversalClient // a client Build made for this runtime alone, closed with it

	warnings       config.Problems    // see Warnings
	identity       *authstep.Identity // [auth] headers, removed from every request
	strictPaths    bool               // [server] strict_paths
	foldPaths      bool               // [server] case_insensitive_paths
	maxHeaderCount int                // [server] max_header_count
	tracing        tracing            // [tracing]

	metrics  *runtimeMetrics // nil when metrics are off
	inflight atomic.Int64
	release  func(*reqctx.Context)
	closed   atomic.Bool
}

// match is one (route, path) pair of the router.
type match struct {
	route      *chain.Route
	prefixSegs int // segments of a prefix pattern, -1 for exact and parameter paths
}

// Build compiles cfg. On failure the error is config.Problems naming every
// step, upstream and route that could not be built, and nothing is left
// running. With a [redis] section, the runtime gets a Redis client of its
// own, closed with it (a Gateway shares one client between its runtimes).
// cfg's source is released once it is built (see
// config.Config.ReleaseSource): later problems name no line.
func Build(cfg *config.Config, shared *store.Store, logger *slog.Logger) (*Runtime, error) {
	rc, err := newRedis(cfg, logger)
	return build(cfg, shared, rc, rc != nil, config.AsProblemsOrNil(err), logger, nil)
}

// build is Build with the Redis client rc (nil: none), given to the
// plugins, and making its metrics in reg (nil: none); own says the
// runtime closes rc. problems are found already (the client's): they are
// reported with the build's.
func build(cfg *config.Config, shared *store.Store, rc redis.UniversalClient, own bool, problems config.Problems, logger *slog.Logger, reg *metric.Registry) (*Runtime, error) {
	if logger == nil {
		logger = slog.Default()
	}
	defer cfg.ReleaseSource()
	// The runtime, and the plugins it builds, keep cfg without its
	// [[consumers]], which only the consumer registry reads (a million
	// of them are hundreds of megabytes): every step sees the same
	// *config.Config as the runtime (admin endpoints compare them).
	full := cfg
	kept := *cfg
	kept.Consumers = nil
	cfg = &kept
	rt := &Runtime{Config: cfg, upstreams: map[string]*upstream.Upstream{}, logger: logger,
		strictPaths: cfg.Server.StrictPaths, foldPaths: cfg.Server.CaseInsensitivePaths,
		maxHeaderCount: cfg.Server.MaxHeaderCount, tracing: newTracing(cfg.Tracing)}
	if own {
		rt.ownRedis = rc
	}
	rt.release = rt.releaseContext
	rt.lookup = func(name string) reqctx.Upstream {
		if u, ok := rt.upstreams[name]; ok {
			return u
		}
		return nil
	}
	addErr := func(err error) { problems = append(problems, config.AsProblems(err)...) }

	var prefixes []netip.Prefix
	for _, p := range cfg.Server.TrustedProxies {
		if pf, err := config.ParsePrefix(p); err == nil {
			prefixes = append(prefixes, pf)
		}
	}
	rt.trusted = realip.NewTrusted(prefixes)

	for i := range cfg.Upstreams {
		u, err := upstream.New(&cfg.Upstreams[i], "upstreams["+strconv.Itoa(i)+"]", cfg)
		if err != nil {
			addErr(err)
			continue
		}
		rt.upstreams[u.Name()] = u
	}

	// Identity headers are stripped from every request, not only on routes
	// with an auth step: otherwise a route without auth would let clients
	// send X-Consumer-Name to an upstream it shares with protected routes.
	rt.identity = authstep.NewIdentity(cfg.Auth)
	mb := reg.Begin()
	env := &plugin.Env{Logger: logger, Config: cfg, Store: shared, Metrics: mb, Redis: rc}
	if reg, err := consumer.New(full); err != nil {
		addErr(err)
	} else {
		env.Consumers = reg
	}
	b := chain.NewBuilder(env)
	if mb != nil {
		b.Observe(authObserver{mb})
	}
	var specs []router.Route
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		var up reqctx.Upstream
		if u, ok := rt.upstreams[rc.Upstream]; ok {
			up = u
		}
		r := chain.NewRoute(rc.Name, b.Chain(i), up)
		r.Index = i
		r.TimeUpstream = mb != nil
		r.StripPrefix = rc.StripPrefix
		r.Proxy = proxyOptions(rc)
		if rc.Rewrite != "" {
			r.Rewrite = chain.NewRewrite(rc.Rewrite)
		}
		rt.routes = append(rt.routes, r)
		for j, p := range rc.Paths {
			if reason := config.CheckPathPattern(p); reason != "" {
				// The same problem config.Parse reports (Load dedupes
				// them): the router is never given a path it would refuse.
				problems = append(problems, cfg.Problem("routes["+strconv.Itoa(i)+"].paths["+strconv.Itoa(j)+"]", reason))
				continue
			}
			segs := -1
			if strings.HasSuffix(p, "/") {
				segs = strings.Count(strings.Trim(p, "/"), "/") + 1
				if p == "/" {
					segs = 0
				}
			}
			specs = append(specs, router.Route{ID: len(rt.matches), Hosts: rc.Hosts, Paths: []string{p}, Methods: rc.Methods})
			rt.matches = append(rt.matches, match{route: r, prefixSegs: segs})
		}
	}
	problems = append(problems, b.Problems()...)
	if len(b.Problems()) == 0 {
		// With a step that failed to build, a chain would look as if it
		// could not answer: check once the steps themselves are right.
		problems = append(problems, rt.checkAnswers()...)
	}
	rt.instances = b.Instances()
	rr, err := router.New(specs)
	if err != nil {
		problems = append(problems, cfg.Problem("routes", err.Error()))
	}
	rt.router = rr
	if len(problems) > 0 {
		rt.cleanup()
		mb.Abort()
		return nil, problems
	}
	rt.metrics = newRuntimeMetrics(mb, rt)
	return rt, nil
}

// checkAnswers finds the routes without an upstream that cannot answer:
// with no step that always answers (plugin.Responder), every request that
// passes their chain would get 502 "route has no upstream". That is an
// error; a chain whose only hope is a script (which may answer, or pick an
// upstream) is a warning.
func (rt *Runtime) checkAnswers() config.Problems {
	var problems config.Problems
	for i := range rt.Config.Routes {
		rc := &rt.Config.Routes[i]
		if rc.Upstream != "" {
			continue
		}
		key := "routes[" + strconv.Itoa(i) + "]"
		switch a, labels := rt.routes[i].Chain.Answers(); a {
		case plugin.AnswerNever:
			problems = append(problems, rt.Config.Problem(key, "route "+strconv.Quote(rc.Name)+
				` has no upstream and no step that answers by itself (such as mock or request-termination): `+
				`every request would get 502 "route has no upstream"; set upstream or add such a step`))
		case plugin.AnswerMaybe:
			rt.warnings = append(rt.warnings, rt.Config.Problem(key, "warning: route "+strconv.Quote(rc.Name)+
				" has no upstream: only "+strings.Join(labels, ", ")+` may answer its requests (or pick an upstream `+
				`for them); the others get 502 "route has no upstream"`))
		}
	}
	return problems
}

// Warnings returns what is suspicious but allowed in the configuration
// (a route whose requests only a script may answer), each as
// "file:line: key: warning: reason". validate prints them, run and reload
// log them.
func (rt *Runtime) Warnings() config.Problems { return rt.warnings }

// Routes returns the compiled routes, in configuration order.
func (rt *Runtime) Routes() []*chain.Route { return rt.routes }

// InFlight returns the number of requests being served on this runtime.
func (rt *Runtime) InFlight() int64 { return rt.inflight.Load() }

func (rt *Runtime) releaseContext(c *reqctx.Context) {
	reqctx.Release(c)
	rt.inflight.Add(-1)
}

// Close waits until no request uses the runtime (at most wait), then
// releases its plugins and connection pools. It is called on the runtime a
// reload replaced, and at shutdown.
func (rt *Runtime) Close(wait time.Duration) {
	if !rt.closed.CompareAndSwap(false, true) {
		return
	}
	deadline := time.Now().Add(wait)
	for rt.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	rt.cleanup()
}

func (rt *Runtime) cleanup() {
	if err := chain.Cleanup(rt.instances); err != nil {
		rt.logger.Error("plugin cleanup failed", "error", err)
	}
	for _, u := range rt.upstreams {
		u.Close()
	}
	if rt.ownRedis != nil {
		rt.ownRedis.Close()
	}
}

// Load reads the configuration file and builds a runtime from it, as a
// reload does. Problems of every layer are reported together: the file's
// (syntax, keys, values, references) and the build's (plugins, scripts,
// balancers, certificates). On failure nothing is left running.
func Load(file string, shared *store.Store, logger *slog.Logger) (*Runtime, error) {
	return load(file, shared, nil, logger, nil)
}

// load is Load with redisFor, which gives the Redis client for a
// configuration that has a [redis] section (nil: Build's), making its
// metrics in reg (nil: none).
func load(file string, shared *store.Store, redisFor func(*config.Config) (redis.UniversalClient, error), logger *slog.Logger, reg *metric.Registry) (*Runtime, error) {
	cfg, err := config.Load(file)
	if cfg == nil {
		return nil, err
	}
	return buildLoaded(cfg, err, shared, redisFor, logger, reg)
}

// BuildLoaded is Load for a configuration already read: cfg and err are
// what config.Load returned (cfg not nil).
func BuildLoaded(cfg *config.Config, err error, shared *store.Store, logger *slog.Logger) (*Runtime, error) {
	return buildLoaded(cfg, err, shared, nil, logger, nil)
}

// buildLoaded is BuildLoaded with load's redisFor and reg.
func buildLoaded(cfg *config.Config, err error, shared *store.Store, redisFor func(*config.Config) (redis.UniversalClient, error), logger *slog.Logger, reg *metric.Registry) (*Runtime, error) {
	problems := config.AsProblemsOrNil(err)
	if cfg.Server.TLS != nil {
		if _, err := loadCertificate(cfg); err != nil {
			problems = append(problems, config.AsProblems(err)...)
		}
	}
	var rc redis.UniversalClient
	own := false
	if cfg.Redis != nil && !hasProblemAt(problems, "redis") {
		if redisFor != nil {
			rc, err = redisFor(cfg)
		} else {
			rc, err = newRedis(cfg, logger)
			own = rc != nil
		}
		problems = append(problems, config.AsProblemsOrNil(err)...)
	}
	rt, err := build(cfg, shared, rc, own, nil, logger, reg)
	if err != nil {
		problems = append(problems, config.AsProblems(err)...)
	}
	if len(problems) > 0 {
		if rt != nil {
			rt.cleanup()
			rt.metrics.abort()
		}
		return nil, problems.Dedupe()
	}
	return rt, nil
}

// hasProblemAt reports whether a problem of ps is at key or under it.
func hasProblemAt(ps config.Problems, key string) bool {
	for _, p := range ps {
		if p.Key == key || strings.HasPrefix(p.Key, key+".") || strings.HasPrefix(p.Key, key+"[") {
			return true
		}
	}
	return false
}
