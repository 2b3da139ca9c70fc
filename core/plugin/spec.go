package plugin

import (
	"log/slog"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/internal/metric"
	"github.com/moongate/moongate/core/ratelimit"
	"github.com/moongate/moongate/core/store"
	"github.com/redis/go-redis/v9"
)

// Spec is what a factory builds a plugin instance from: the step as
// configured, and the shared services (Env).
type Spec struct {
	// Name is the registered plugin name, or the script path.
	Name string
	// Config is the step's [config] table, to be decoded with Config.Decode.
	Config config.Table
	// Step is the step's whole definition (enabled, on_error, timeout, ...).
	Step config.Step
	// Path is the step's key path in the file, e.g. routes[0].plugins[1].
	Path string
	// Route is the route name for a step of [[routes.plugins]], "" for a
	// global step (one instance then serves every route).
	Route string
	// Env gives access to process-wide services; nil in tests that build
	// a plugin by hand. The methods of Spec below read it safely.
	Env *Env
}

// Env holds the services a factory may use. It lives as long as the
// configuration being built; every field may be nil.
type Env struct {
	// Logger is the process logger.
	Logger *slog.Logger
	// Config is the whole configuration being built.
	Config *config.Config
	// Store is the process-wide shared store; take a namespace of your
	// own with Spec.Namespace. It outlives reloads.
	Store *store.Store
	// Consumers are the configuration's [[consumers]], built once per
	// load (so a reload adds and removes consumers).
	Consumers *consumer.Registry
	// Metrics is where the steps' metrics are made, by the engine's
	// build of the configuration: a step reaches it through
	// Spec.Metrics. nil when metrics are off.
	Metrics *metric.Build
	// Redis is the process's one Redis client, built by the gateway from
	// [redis]; nil when the configuration has no [redis] section.
	Redis redis.UniversalClient
	// Limits are the named rate limits of [[rate_limits]], by name, built
	// before the chains; nil when there are none. Read-only.
	Limits map[string]ratelimit.Limiter
}

// Logger returns the process logger (slog.Default without an Env),
// tagged with the step's route (for a step of [[routes.plugins]]) and
// name, as the step's Context.Logger is during its phases: for what the
// instance logs outside a request (a background refresh, a failed
// fetch). Each call makes a new logger: call it once, in the factory.
func (s Spec) Logger() *slog.Logger {
	l := slog.Default()
	if s.Env != nil && s.Env.Logger != nil {
		l = s.Env.Logger
	}
	switch {
	case s.Route != "" && s.Name != "":
		return l.With(slog.String("route", s.Route), slog.String("step", s.Name))
	case s.Name != "":
		return l.With(slog.String("step", s.Name))
	}
	return l
}

// Namespace returns the namespace called name of the shared store,
// created on first use and the same across reloads, so that an instance
// rebuilt by a reload finds its entries again; nil when the plugin is
// built without a store. Namespace names are chosen by code: "proxy",
// "lua:scripts/x.lua", "hmac-auth:replay".
func (s Spec) Namespace(name string) *store.Namespace {
	if s.Env == nil || s.Env.Store == nil {
		return nil
	}
	return s.Env.Store.Namespace(name)
}

// Consumers returns the configuration's consumer registry, or an empty
// one.
func (s Spec) Consumers() *consumer.Registry {
	if s.Env != nil && s.Env.Consumers != nil {
		return s.Env.Consumers
	}
	return consumer.Empty()
}

// Settings returns the whole configuration being built, nil without an
// Env.
func (s Spec) Settings() *config.Config {
	if s.Env == nil {
		return nil
	}
	return s.Env.Config
}

// Redis returns the process's shared Redis client, or nil when the
// configuration has no [redis] section (a step that needs one refuses to
// be built, naming its key). The client belongs to the gateway: never close
// it. It honours each call's context deadline and never retries a command
// by itself; bound every call with a short deadline of your own, and
// decide what a request gets when Redis fails or is slow.
func (s Spec) Redis() redis.UniversalClient {
	if s.Env == nil {
		return nil
	}
	return s.Env.Redis
}

// Limit returns the named rate limit of [[rate_limits]] called name, nil
// when there is none. Steps built by the same configuration load share
// it (and its counts).
func (s Spec) Limit(name string) ratelimit.Limiter {
	if s.Env == nil {
		return nil
	}
	return s.Env.Limits[name]
}
