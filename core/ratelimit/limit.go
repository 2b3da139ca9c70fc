package ratelimit

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// Algorithm selects how a Window counts.
type Algorithm uint8

const (
	// SlidingWindow (the default) allows at most Requests in every interval
	// of length Per, whatever its start. Each window is split into SubWindows
	// buckets; see the package documentation for the exact guarantee.
	SlidingWindow Algorithm = iota
	// GCRA is the generic cell rate algorithm, a token bucket that holds
	// Burst tokens and refills Requests per Per, one token every Per/Requests.
	GCRA
)

// String returns the configuration name of the algorithm.
func (a Algorithm) String() string {
	switch a {
	case SlidingWindow:
		return "sliding-window"
	case GCRA:
		return "gcra"
	}
	return "algorithm(" + strconv.Itoa(int(a)) + ")"
}

// ParseAlgorithm maps a configuration name to an Algorithm: "sliding-window"
// (also "" and "sliding"), "gcra" or "token-bucket".
func ParseAlgorithm(s string) (Algorithm, error) {
	switch s {
	case "", "sliding-window", "sliding":
		return SlidingWindow, nil
	case "gcra", "token-bucket":
		return GCRA, nil
	}
	return 0, fmt.Errorf("unknown algorithm %q (want \"sliding-window\" or \"gcra\")", s)
}

// Limits of what a Limit may describe. They bound the per-key state (memory
// locally, fields and script work on Redis).
const (
	MaxWindows     = 16      // windows per Limit
	MaxSubWindows  = 100     // SubWindows of the sliding window
	MaxRequests    = 1 << 31 // Requests (and Burst) of one window
	minPer         = time.Millisecond
	defaultSubWins = 20
)

// Window is one "Requests per Per" rule. A Limit passes a request only if
// every one of its windows does.
type Window struct {
	Requests int64         // requests allowed per Per; at least 1
	Per      time.Duration // window length; at least 1ms
	// Burst is the GCRA bucket size: how many requests may pass at once
	// after a quiet period. 0 means Requests. Ignored by SlidingWindow.
	Burst int64
	// Name is the policy name reported in the RateLimit header fields.
	// Empty means a name derived from Per, e.g. "60s".
	Name string
}

// Limit is the rule of one rate limit: any number of windows (at most
// MaxWindows), all of which must pass, and the algorithm that counts them.
// A Limit is a value: limiters copy what they need when built.
type Limit struct {
	Windows   []Window
	Algorithm Algorithm
	// SubWindows is the number of buckets per window of the sliding window
	// (default 20, at most MaxSubWindows). More buckets bring the admitted
	// rate closer to Requests/Per for clients that hammer the limit, at the
	// cost of (SubWindows+1)*4 bytes per window per key. See the package
	// documentation.
	SubWindows int
}

// Validate reports every problem of l at once, each naming its field.
func (l Limit) Validate() error {
	var errs []error
	if len(l.Windows) == 0 {
		errs = append(errs, errors.New("limits: at least one window is required"))
	}
	if len(l.Windows) > MaxWindows {
		errs = append(errs, fmt.Errorf("limits: at most %d windows, got %d", MaxWindows, len(l.Windows)))
	}
	if l.Algorithm != SlidingWindow && l.Algorithm != GCRA {
		errs = append(errs, fmt.Errorf("algorithm: unknown value %d", l.Algorithm))
	}
	if l.SubWindows < 0 || l.SubWindows > MaxSubWindows {
		errs = append(errs, fmt.Errorf("sub_windows: must be between 1 and %d, got %d", MaxSubWindows, l.SubWindows))
	}
	names := make(map[string]int, len(l.Windows))
	for i, w := range l.Windows {
		p := "limits[" + strconv.Itoa(i) + "]"
		if w.Per > 0 {
			if j, dup := names[w.name()]; dup {
				errs = append(errs, fmt.Errorf("%s: same policy name %q as limits[%d] (give each a distinct name)", p, w.name(), j))
			}
			names[w.name()] = i
		}
		if w.Requests < 1 || w.Requests > MaxRequests {
			errs = append(errs, fmt.Errorf("%s.requests: must be between 1 and %d, got %d", p, int64(MaxRequests), w.Requests))
		}
		if w.Per < minPer {
			errs = append(errs, fmt.Errorf("%s.per: must be at least %s, got %s", p, minPer, w.Per))
		} else if w.Requests >= 1 && w.Per/time.Microsecond < time.Duration(w.Requests) && l.Algorithm == GCRA {
			// The Redis script counts in microseconds: one request per
			// microsecond is the finest rate both policies can keep exactly.
			errs = append(errs, fmt.Errorf("%s: more than one request per microsecond (%d per %s) is not supported", p, w.Requests, w.Per))
		}
		if w.Name != "" && !validName(w.Name) {
			errs = append(errs, fmt.Errorf("%s.name: %q is not 1 to 64 of A-Z a-z 0-9 . _ -", p, w.Name))
		}
		if w.Burst < 0 || w.Burst > MaxRequests {
			errs = append(errs, fmt.Errorf("%s.burst: must be between 1 and %d, got %d", p, int64(MaxRequests), w.Burst))
		}
	}
	return errors.Join(errs...)
}

// name is the policy name of w: Name, or Per in seconds ("60s"), or in
// milliseconds when it is not a whole number of seconds ("1500ms").
func (w Window) name() string {
	if w.Name != "" {
		return w.Name
	}
	if w.Per%time.Second != 0 {
		return strconv.FormatInt(int64(w.Per/time.Millisecond), 10) + "ms"
	}
	return strconv.FormatInt(int64(w.Per/time.Second), 10) + "s"
}

// window is a Window compiled for one time unit (nanoseconds locally,
// microseconds in the Redis script).
type window struct {
	name  string
	limit int64         // Requests
	per   time.Duration // as configured, for results
	burst int64         // GCRA: bucket size in requests

	width int64 // sliding: bucket width, ceil(per/k) in the unit
	span  int64 // sliding: (k+1)*width, how long a bucket stays counted
	emit  int64 // gcra: emission interval, ceil(per/limit) in the unit
	tau   int64 // gcra: burst*emit, the furthest TAT may run ahead of now
}

// compiled is a validated Limit in one time unit.
type compiled struct {
	alg  Algorithm
	k    int64 // sub-windows (sliding)
	ring int   // k+1 counters per window (sliding)
	win  []window
	// fingerprint changes whenever the meaning of stored state changes
	// (algorithm, windows, sub-windows): Redis keys include it.
	fingerprint string
}

// compile validates l and expresses it in unit (time.Nanosecond or
// time.Microsecond). divide > 1 divides every window's requests and burst
// (at least 1 each), for the fallback of a cluster of divide nodes.
func compile(l Limit, unit time.Duration, divide int64) (*compiled, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if divide < 1 {
		divide = 1
	}
	c := &compiled{alg: l.Algorithm, k: int64(l.SubWindows)}
	if c.k == 0 {
		c.k = defaultSubWins
	}
	c.ring = int(c.k) + 1
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%d", c.alg, c.k)
	for _, w := range l.Windows {
		cw := window{name: w.name(), limit: w.Requests, per: w.Per, burst: w.Burst}
		if cw.burst == 0 {
			cw.burst = cw.limit
		}
		fmt.Fprintf(h, "/%d:%d:%d", cw.limit, w.Per, cw.burst)
		cw.limit = max(1, cw.limit/divide)
		cw.burst = max(1, cw.burst/divide)
		per := int64(w.Per / unit)
		cw.width = ceilDiv(per, c.k)
		cw.span = (c.k + 1) * cw.width
		cw.emit = ceilDiv(per, cw.limit)
		cw.tau = cw.burst * cw.emit
		c.win = append(c.win, cw)
	}
	c.fingerprint = strconv.FormatUint(uint64(h.Sum32()), 36)
	return c, nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// floorDiv is a/b rounded towards minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
