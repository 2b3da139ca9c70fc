package upstream

import (
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/registry"
)

// Filter says which targets a balancer may pick for one try: not those
// already tried by this request, and only healthy ones unless the upstream
// is in panic mode. It is passed by value and allocates nothing.
type Filter struct {
	// Now is the time of the pick, unix nanoseconds.
	Now int64
	// Tried holds the bits of the targets this request already tried.
	Tried uint64
	// AnyHealth lets unhealthy targets be picked (panic mode).
	AnyHealth bool
}

// Allows reports whether t may be picked.
func (f Filter) Allows(t *Target) bool {
	return f.Tried&t.bit == 0 && (f.AnyHealth || t.Up(f.Now))
}

// Balancer picks the target for one try of a request among the targets it
// was built over. Pick must be safe for concurrent use, must not allocate,
// and must only return a target f allows; nil means none is allowed.
type Balancer interface {
	Pick(c *reqctx.Context, f Filter) *Target
}

// Responder is implemented by balancers that act on the response of the
// target they picked (sticky sets its cookie).
type Responder interface {
	Picked(c *reqctx.Context, t *Target)
}

// BalancerFactory builds a balancer over an upstream's targets.
type BalancerFactory func(targets []*Target, cfg *config.Upstream) (Balancer, error)

var balancers = registry.New[BalancerFactory]("balancer")

func init() {
	RegisterBalancer("round-robin", newRoundRobin)
	RegisterBalancer("least-conn", newLeastConn)
	RegisterBalancer("consistent-hash", newConsistentHash)
	RegisterBalancer("ewma", newEWMA)
	RegisterBalancer("sticky", newSticky)
}

// RegisterBalancer makes a balancer available under name (the value of
// balancer = "..."). It is meant to be called from init; an empty or
// duplicate name panics, naming both places of registration.
func RegisterBalancer(name string, f BalancerFactory) { balancers.Register(name, f) }

func lookupBalancer(name string) (BalancerFactory, bool) { return balancers.Lookup(name) }

func balancerNames() []string { return balancers.Names() }

// firstAllowed scans targets from start for one f allows: the fallback of
// balancers whose own order found nothing quickly.
func firstAllowed(targets []*Target, start int, f Filter) *Target {
	n := len(targets)
	for i := 0; i < n; i++ {
		if t := targets[(start+i)%n]; f.Allows(t) {
			return t
		}
	}
	return nil
}
