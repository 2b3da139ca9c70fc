package plugin

import (
	"sync"

	"github.com/moongate/moongate/core/ratelimit"
)

// LimitFactory builds a named rate limit: an entry of [[rate_limits]],
// which scripts call by name (gw.ratelimit.check). spec.Name is the
// entry's name, spec.Path its key path ("rate_limits[0]"), spec.Config
// the entry without its name. The limiter it returns never fails a
// decision (a limit on Redis decides by its own fallback when Redis is
// away); it may implement Cleaner, called when the configuration is
// replaced.
type LimitFactory func(spec Spec) (ratelimit.Limiter, error)

var (
	limitsMu      sync.Mutex
	limitsFactory LimitFactory
)

// RegisterLimits makes [[rate_limits]] buildable: the rate-limit plugin
// registers the factory of its entries, from init. A second registration
// panics.
func RegisterLimits(f LimitFactory) {
	limitsMu.Lock()
	defer limitsMu.Unlock()
	if f == nil || limitsFactory != nil {
		panic("plugin: RegisterLimits needs a factory, and takes one only")
	}
	limitsFactory = f
}

// Limits returns the factory of [[rate_limits]] entries, nil when no
// plugin registered one. The gateway builds the entries with it, once
// per configuration load, before the chains.
func Limits() LimitFactory {
	limitsMu.Lock()
	defer limitsMu.Unlock()
	return limitsFactory
}
