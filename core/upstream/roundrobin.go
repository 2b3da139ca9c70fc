package upstream

import (
	"sync/atomic"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
)

// maxCycle bounds the precomputed round-robin order; weights whose sum
// (divided by their greatest common divisor) is larger are scaled down to
// fit, which keeps every share within about 1/maxCycle of its weight.
const maxCycle = 1 << 14

// roundRobin is smooth weighted round-robin (nginx's algorithm): each
// target appears as often as its weight, spread evenly through the cycle,
// so that the heaviest target never gets a burst. The order of one whole
// cycle is computed once; picking is one atomic increment.
type roundRobin struct {
	targets []*Target
	order   []uint32 // indexes into targets
	next    atomic.Uint64
}

func newRoundRobin(targets []*Target, _ *config.Upstream) (Balancer, error) {
	return &roundRobin{targets: targets, order: smoothOrder(targets)}, nil
}

// smoothOrder runs nginx's smooth weighted round-robin for one cycle: each
// step adds every target's weight to its current value, picks the largest
// and takes the total off it.
func smoothOrder(targets []*Target) []uint32 {
	w := make([]int, len(targets))
	g, sum := 0, 0
	for i, t := range targets {
		w[i] = max(t.Weight, 1)
		g = gcd(g, w[i])
	}
	for i := range w {
		w[i] /= g
		sum += w[i]
	}
	if sum > maxCycle {
		total := sum
		sum = 0
		for i := range w {
			w[i] = max(1, (w[i]*maxCycle+total/2)/total)
			sum += w[i]
		}
	}
	cur := make([]int, len(w))
	order := make([]uint32, 0, sum)
	for range sum {
		best := -1
		for i := range w {
			cur[i] += w[i]
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= sum
		order = append(order, uint32(best))
	}
	return order
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Pick implements Balancer. A slot of a target that may not be picked is
// skipped by taking the next slot of the shared counter, so that the
// targets left keep their relative shares.
func (rr *roundRobin) Pick(_ *reqctx.Context, f Filter) *Target {
	n := len(rr.order)
	if n == 0 {
		return nil
	}
	var i uint64
	for range 2*len(rr.targets) + 4 {
		i = rr.next.Add(1) - 1
		if t := rr.targets[rr.order[i%uint64(n)]]; f.Allows(t) {
			return t
		}
	}
	return firstAllowed(rr.targets, int(i%uint64(len(rr.targets))), f)
}
