package upstream

import (
	"sync/atomic"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
)

// leastConn picks the target with the fewest requests in flight for its
// weight (active/weight, compared without division). Ties go to the first
// found from a rotating start, so that idle targets share the traffic.
type leastConn struct {
	targets []*Target
	next    atomic.Uint64
}

func newLeastConn(targets []*Target, _ *config.Upstream) (Balancer, error) {
	return &leastConn{targets: targets}, nil
}

// Pick implements Balancer.
func (lc *leastConn) Pick(_ *reqctx.Context, f Filter) *Target {
	n := len(lc.targets)
	if n == 0 {
		return nil
	}
	start := int(lc.next.Add(1) % uint64(n))
	var best *Target
	var bestActive int64
	for i := 0; i < n; i++ {
		t := lc.targets[(start+i)%n]
		if !f.Allows(t) {
			continue
		}
		a := t.active.Load()
		// a/w < bestActive/bestW  <=>  a*bestW < bestActive*w
		if best == nil || a*int64(best.Weight) < bestActive*int64(t.Weight) {
			best, bestActive = t, a
		}
	}
	return best
}
