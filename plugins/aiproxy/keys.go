package aiproxy

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/valyala/fasthttp"
)

// A key pool spreads requests over a provider's keys, round robin. A key
// the provider answered 429 rests until the provider's reset time; one it
// answered 401 or 403 is disabled until the configuration is reloaded.
// Keys are named by their index and label, never by their value.

const (
	// defaultRest is how long a key rests after a 429 that says nothing
	// of when to retry.
	defaultRest = 10 * time.Second
	// maxRest bounds the rest a provider can ask for.
	maxRest = 24 * time.Hour
)

// poolKey is one provider key and its state.
type poolKey struct {
	index  int
	label  string
	value  string
	bearer string // "Bearer " + value

	restUntil  atomic.Int64 // unix nanoseconds; resting while in the future
	disabled   atomic.Int32 // the status that disabled it (401, 403), 0 when enabled
	disabledAt atomic.Int64

	requests    atomic.Uint64
	rateLimited atomic.Uint64
	failures    atomic.Uint64
}

// name is how logs and the admin API call the key.
func (k *poolKey) name() string {
	if k.label != "" {
		return k.label
	}
	return "#" + strconv.Itoa(k.index)
}

type keyPool struct {
	provider string
	keys     []*poolKey
	next     atomic.Uint32
}

func newKeyPool(provider string, keys []Key) *keyPool {
	kp := &keyPool{provider: provider}
	for i, k := range keys {
		kp.keys = append(kp.keys, &poolKey{index: i, label: k.Label, value: k.Secret.Value(),
			bearer: "Bearer " + k.Secret.Value()})
	}
	return kp
}

// pick returns the next usable key that is not in tried (a bit set of
// indexes), and ok = true; for a pool without keys, nil and ok = true.
// When every key is resting, disabled or tried, ok is false and wait is
// how long until the first resting key is back (0 when none will be).
func (kp *keyPool) pick(tried uint64, now time.Time) (k *poolKey, wait time.Duration, ok bool) {
	n := len(kp.keys)
	if n == 0 {
		return nil, 0, true
	}
	start := int(kp.next.Add(1) - 1)
	t := now.UnixNano()
	var soonest int64
	for i := 0; i < n; i++ {
		j := (start + i) % n
		key := kp.keys[j]
		if j < 64 && tried&(1<<j) != 0 || key.disabled.Load() != 0 {
			continue
		}
		if until := key.restUntil.Load(); until > t {
			if soonest == 0 || until < soonest {
				soonest = until
			}
			continue
		}
		return key, 0, true
	}
	if soonest != 0 {
		wait = time.Duration(soonest - t)
	}
	return nil, wait, false
}

// rest makes k rest for d.
func (k *poolKey) rest(d time.Duration, now time.Time) {
	k.rateLimited.Add(1)
	until := now.Add(min(max(d, time.Second), maxRest)).UnixNano()
	// Concurrent 429s keep the latest reset.
	for {
		old := k.restUntil.Load()
		if old >= until || k.restUntil.CompareAndSwap(old, until) {
			return
		}
	}
}

// disable disables k for the status the provider answered; it reports
// whether k was enabled until now (to log it once).
func (k *poolKey) disable(status int, now time.Time) bool {
	if k.disabled.CompareAndSwap(0, int32(status)) {
		k.disabledAt.Store(now.UnixNano())
		return true
	}
	return false
}

// resetAfter reads when a provider's 429 says to retry: retry-after-ms,
// retry-after (seconds or an HTTP date), OpenAI's x-ratelimit-reset-*
// (durations such as "6m0s") and Anthropic's anthropic-ratelimit-*-reset
// (RFC 3339 times). The first of retry-after-ms and retry-after wins;
// otherwise the latest of the resets. 0 when the answer says nothing.
func resetAfter(h *fasthttp.ResponseHeader, now time.Time) time.Duration {
	if v := h.Peek("Retry-After-Ms"); len(v) > 0 {
		if ms, err := strconv.ParseFloat(string(v), 64); err == nil && ms > 0 && ms < 1e10 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := h.Peek("Retry-After"); len(v) > 0 {
		if s, err := strconv.ParseFloat(string(v), 64); err == nil && s > 0 && s < 1e7 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := fasthttp.ParseHTTPDate(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	var d time.Duration
	h.VisitAll(func(key, value []byte) {
		switch {
		case httpbytes.HasPrefixFold(key, "x-ratelimit-reset-"):
			if x, err := time.ParseDuration(strings.TrimSpace(string(value))); err == nil && x > d {
				d = x
			}
		case httpbytes.HasPrefixFold(key, "anthropic-ratelimit-") && len(key) > 6 && httpbytes.EqualFold(key[len(key)-6:], "-reset"):
			if t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(value))); err == nil && t.Sub(now) > d {
				d = t.Sub(now)
			}
		}
	})
	return d
}

// KeyState is what the admin API shows of a provider key: never its value.
type KeyState struct {
	Index int    `json:"index"`
	Label string `json:"label,omitempty"`
	// State is "active", "resting" (after a 429, until RestingUntil) or
	// "disabled" (after a 401 or 403, until the next reload).
	State        string     `json:"state"`
	RestingUntil *time.Time `json:"resting_until,omitempty"`
	DisabledBy   int        `json:"disabled_by,omitempty"`
	DisabledAt   *time.Time `json:"disabled_at,omitempty"`
	Requests     uint64     `json:"requests"`
	RateLimited  uint64     `json:"rate_limited"`
	Failures     uint64     `json:"failures"`
}

// state returns k's state at now.
func (k *poolKey) state(now time.Time) KeyState {
	s := KeyState{Index: k.index, Label: k.label, State: "active", Requests: k.requests.Load(),
		RateLimited: k.rateLimited.Load(), Failures: k.failures.Load()}
	if st := k.disabled.Load(); st != 0 {
		t := time.Unix(0, k.disabledAt.Load()).UTC()
		s.State, s.DisabledBy, s.DisabledAt = "disabled", int(st), &t
	} else if until := k.restUntil.Load(); until > now.UnixNano() {
		t := time.Unix(0, until).UTC()
		s.State, s.RestingUntil = "resting", &t
	}
	return s
}
