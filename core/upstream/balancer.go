package upstream

import (
	"sort"
	"sync"

	"github.com/moongate/moongate/core/chain"
	"github.com/moongate/moongate/core/config"
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
	Pick(c *chain.Context, f Filter) *Target
}

// Responder is implemented by balancers that act on the response of the
// target they picked (sticky sets its cookie).
type Responder interface {
	Picked(c *chain.Context, t *Target)
}

// BalancerFactory builds a balancer over an upstream's targets.
type BalancerFactory func(targets []*Target, cfg *config.Upstream) (Balancer, error)

var (
	balancersMu sync.RWMutex
	balancers   = map[string]BalancerFactory{
		"round-robin":     newRoundRobin,
		"least-conn":      newLeastConn,
		"consistent-hash": newConsistentHash,
		"ewma":            newEWMA,
	}
)

// sticky builds on the others; registered apart to keep the table's
// initialisation free of a cycle.
func init() { RegisterBalancer("sticky", newSticky) }

// RegisterBalancer makes a balancer available under name (the value of
// balancer = "..."). A duplicate name panics.
func RegisterBalancer(name string, f BalancerFactory) {
	balancersMu.Lock()
	defer balancersMu.Unlock()
	if _, dup := balancers[name]; dup {
		panic("upstream: balancer " + name + " registered twice")
	}
	balancers[name] = f
}

func lookupBalancer(name string) (BalancerFactory, bool) {
	balancersMu.RLock()
	defer balancersMu.RUnlock()
	f, ok := balancers[name]
	return f, ok
}

func balancerNames() []string {
	balancersMu.RLock()
	defer balancersMu.RUnlock()
	var out []string
	for n := range balancers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

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
