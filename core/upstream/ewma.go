package upstream

import (
	"math"
	"math/rand/v2"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
)

// ewma is peak-EWMA with the power of two choices: two targets drawn at
// random, the one with the lower expected cost wins. The cost is the
// target's latency average (raised at once by a slow answer, lowered
// slowly) times its requests in flight plus one, divided by its weight, so
// slow or busy targets get less.
type ewma struct {
	targets []*Target
}

func newEWMA(targets []*Target, _ *config.Upstream) (Balancer, error) {
	return &ewma{targets: targets}, nil
}

func ewmaCost(t *Target) float64 {
	lat := math.Float64frombits(t.ewmaBits.Load())
	if lat == 0 {
		// No sample yet: as cheap as can be, so that new targets are tried.
		lat = 1
	}
	return lat * float64(t.active.Load()+1) / float64(max(t.Weight, 1))
}

// Pick implements Balancer.
func (e *ewma) Pick(_ *reqctx.Context, f Filter) *Target {
	n := len(e.targets)
	switch n {
	case 0:
		return nil
	case 1:
		if f.Allows(e.targets[0]) {
			return e.targets[0]
		}
		return nil
	}
	var a, b *Target
	for range 4 {
		i := rand.IntN(n)
		j := rand.IntN(n - 1)
		if j >= i {
			j++
		}
		a, b = e.targets[i], e.targets[j]
		if f.Allows(a) || f.Allows(b) {
			break
		}
	}
	okA, okB := f.Allows(a), f.Allows(b)
	switch {
	case okA && okB:
		if ewmaCost(b) < ewmaCost(a) {
			return b
		}
		return a
	case okA:
		return a
	case okB:
		return b
	}
	return firstAllowed(e.targets, rand.IntN(n), f)
}
