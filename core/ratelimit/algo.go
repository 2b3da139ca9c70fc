package ratelimit

import (
	"math"
	"time"
)

// The state of one key is, per window:
//
//   - SlidingWindow: times[i] is the index of the newest bucket the window
//     has seen (time/width), counts[i*ring:(i+1)*ring] a ring of k+1
//     counters where bucket j lives at j mod (k+1). At time t the buckets
//     b(t)-k .. b(t) are counted.
//   - GCRA: times[i] is the theoretical arrival time (TAT): the bucket is
//     full again at TAT, and a request passes if TAT+emit-now <= tau.
//
// A zero state (times all 0, counts all 0) is a fresh key for any now > 0,
// and so is any state whose freshAt (returned by decide) is <= now.
//
// The Redis scripts (redis.go) implement the same arithmetic in Lua, in
// microseconds: keep the two in step.

// decide runs one decision of cost units at now (in c's unit) on a key's
// state, commits it only if every window passes, and fills res (durations
// converted with unit). It returns the decision and the time from which
// the state is equivalent to a fresh key's.
func (c *compiled) decide(times []int64, counts []uint32, now, cost int64, unit time.Duration, res *Result) (allowed bool, freshAt int64) {
	res.Windows = res.Windows[:0]
	for i := range c.win {
		w := &c.win[i]
		res.Windows = append(res.Windows, WindowState{Name: w.name, Limit: w.limit, Window: w.per})
	}
	if c.alg == GCRA {
		allowed, freshAt = c.gcra(times, now, cost, unit, res)
	} else {
		allowed, freshAt = c.sliding(times, counts, now, cost, unit, res)
	}
	res.Allowed = allowed
	return allowed, freshAt
}

func (c *compiled) sliding(times []int64, counts []uint32, now, cost int64, unit time.Duration, res *Result) (bool, int64) {
	ring := int64(c.ring)
	allowed := true
	for i := range c.win {
		w := &c.win[i]
		r := counts[i*c.ring : (i+1)*c.ring]
		b := floorDiv(now, w.width)
		if last := times[i]; b > last {
			// Buckets last+1..b are new: their slots still hold buckets
			// that left the window, so they start again from zero.
			if b-last >= ring {
				clear(r)
			} else {
				for j := last + 1; j <= b; j++ {
					r[mod(j, ring)] = 0
				}
			}
			times[i] = b
		}
		// b < times[i] only if the clock went back: keep counting from the
		// newest bucket, which can only refuse more, never less.
		var sum int64
		for _, n := range r {
			sum += int64(n)
		}
		res.Windows[i].Remaining = sum // the count, until the second pass
		if sum+cost > w.limit {
			allowed = false
		}
	}
	var retry int64
	freshAt := int64(math.MinInt64)
	for i := range c.win {
		w := &c.win[i]
		r := counts[i*c.ring : (i+1)*c.ring]
		b := times[i]
		sum := res.Windows[i].Remaining
		if allowed {
			r[mod(b, ring)] += uint32(cost)
			sum += cost
		}
		res.Windows[i].Remaining = max(0, w.limit-sum)
		// Reset: when the newest counted bucket leaves the window.
		for d := int64(0); d < ring; d++ {
			if r[mod(b-d, ring)] != 0 {
				end := (b - d + ring) * w.width
				res.Windows[i].Reset = time.Duration(end-now) * unit
				freshAt = max(freshAt, end)
				break
			}
		}
		if !allowed && sum+cost > w.limit {
			// Retry: when enough of the oldest buckets have left.
			wait := w.span // cost above the limit: never; report a window
			var acc int64
			for j := b - c.k; j <= b; j++ {
				acc += int64(r[mod(j, ring)])
				if sum-acc+cost <= w.limit {
					wait = (j+ring)*w.width - now
					break
				}
			}
			retry = max(retry, wait)
		}
	}
	res.RetryAfter = time.Duration(retry) * unit
	return allowed, freshAt
}

func (c *compiled) gcra(times []int64, now, cost int64, unit time.Duration, res *Result) (bool, int64) {
	allowed := true
	for i := range c.win {
		w := &c.win[i]
		if max(times[i], now)+cost*w.emit-now > w.tau {
			allowed = false
			break
		}
	}
	var retry int64
	freshAt := int64(math.MinInt64)
	for i := range c.win {
		w := &c.win[i]
		tat := max(times[i], now)
		if allowed {
			tat += cost * w.emit
			times[i] = tat
		} else if over := tat + cost*w.emit - now - w.tau; over > 0 {
			if cost*w.emit > w.tau {
				over = w.tau // cost above the burst: never; report the bucket
			}
			retry = max(retry, over)
		}
		res.Windows[i].Remaining = max(0, (w.tau-(tat-now))/w.emit)
		res.Windows[i].Reset = time.Duration(tat-now) * unit
		freshAt = max(freshAt, tat)
	}
	res.RetryAfter = time.Duration(retry) * unit
	return allowed, freshAt
}

// mod is a modulo m in [0, m) for any sign of a.
func mod(a, m int64) int64 {
	a %= m
	if a < 0 {
		a += m
	}
	return a
}
