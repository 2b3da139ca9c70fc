package upstream

import (
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
)

// pointsPerWeight is how many points of the ring a target of the lightest
// weight gets; heavier targets get proportionally more. maxPoints bounds
// the ring.
const (
	pointsPerWeight = 160
	maxPoints       = 1 << 16
)

// consistentHash places every target on a ring of 64-bit hashes many times
// (virtual nodes, in proportion to its weight); a request goes to the
// first point at or after the hash of its key. Adding or removing one of N
// targets moves only the keys of that target's points, about 1/N of them.
// When that target may not be picked the walk goes on along the ring, so
// the keys of a down target spread over the others and come back with it.
type consistentHash struct {
	targets []*Target
	points  []ringPoint
	on      string // hash_on
	key     string // hash_key
}

type ringPoint struct {
	hash   uint64
	target uint32
}

func newConsistentHash(targets []*Target, cfg *config.Upstream) (Balancer, error) {
	ch := &consistentHash{targets: targets, on: cfg.HashOn, key: cfg.HashKey}
	ch.points = ringPoints(targets)
	return ch, nil
}

func ringPoints(targets []*Target) []ringPoint {
	if len(targets) == 0 {
		return nil
	}
	minW := targets[0].Weight
	total := 0
	for _, t := range targets {
		minW = min(minW, max(t.Weight, 1))
	}
	counts := make([]int, len(targets))
	for i, t := range targets {
		counts[i] = pointsPerWeight * max(t.Weight, 1) / minW
		total += counts[i]
	}
	if total > maxPoints {
		for i := range counts {
			counts[i] = max(1, counts[i]*maxPoints/total)
		}
	}
	var pts []ringPoint
	buf := make([]byte, 0, 128)
	for i, t := range targets {
		for k := 0; k < counts[i]; k++ {
			// The point depends on the target's URL only, not on its
			// position, so that other targets keep their points when one
			// is added or removed.
			buf = append(append(append(buf[:0], t.URL...), '#'), strconv.Itoa(k)...)
			pts = append(pts, ringPoint{hash: xxhash.Sum64(buf), target: uint32(i)})
		}
	}
	slices.SortFunc(pts, func(a, b ringPoint) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	return pts
}

// Pick implements Balancer.
func (ch *consistentHash) Pick(c *reqctx.Context, f Filter) *Target {
	if len(ch.points) == 0 {
		return nil
	}
	return ch.lookup(ch.keyHash(c), f)
}

func (ch *consistentHash) lookup(h uint64, f Filter) *Target {
	pts := ch.points
	lo, hi := 0, len(pts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pts[m].hash < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := 0; i < len(pts); i++ {
		t := ch.targets[pts[(lo+i)%len(pts)].target]
		if f.Allows(t) {
			return t
		}
	}
	return nil
}

// keyHash hashes the request's key; a request without one hashes on the
// client IP.
func (ch *consistentHash) keyHash(c *reqctx.Context) uint64 {
	switch ch.on {
	case "header":
		if v := c.Request.Header.Peek(ch.key); len(v) > 0 {
			return xxhash.Sum64(v)
		}
	case "cookie":
		if v := c.Request.Header.Cookie(ch.key); len(v) > 0 {
			return xxhash.Sum64(v)
		}
	case "path":
		return xxhash.Sum64(c.Path())
	case "consumer":
		if c.Consumer != nil {
			return xxhash.Sum64String(c.Consumer.Name)
		}
	}
	var buf [48]byte
	return xxhash.Sum64(c.ClientIP().AppendTo(buf[:0]))
}

func xxhashString(s string) uint64 { return xxhash.Sum64String(s) }
