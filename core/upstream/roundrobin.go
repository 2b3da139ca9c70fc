package upstream

import (
	"sync/atomic"

	"github.com/moongate/moongate/core/chain"
	"github.com/moongate/moongate/core/config"
)

// roundRobin cycles through the targets, each appearing as often as its
// weight in an interleaved order, with one atomic counter.
type roundRobin struct {
	order []*Target
	next  atomic.Uint64
}

func newRoundRobin(targets []*Target, _ *config.Upstream) (Balancer, error) {
	rr := &roundRobin{}
	// Interleave: pass k adds every target whose weight is above k.
	maxW := 0
	for _, t := range targets {
		maxW = max(maxW, t.Weight)
	}
	for k := 0; k < maxW; k++ {
		for _, t := range targets {
			if t.Weight > k {
				rr.order = append(rr.order, t)
			}
		}
	}
	return rr, nil
}

// Pick implements Balancer.
func (rr *roundRobin) Pick(*chain.Context) *Target {
	if len(rr.order) == 0 {
		return nil
	}
	n := rr.next.Add(1) - 1
	return rr.order[n%uint64(len(rr.order))]
}
