package ratelimit

import (
	"context"
	"strconv"
	"time"
)

// Limiter decides whether a request identified by key may pass. Both
// policies (Local and Redis) implement it; an instance serves any number of
// goroutines at once.
type Limiter interface {
	// Allow decides one request of key and writes the decision into res.
	// The key bytes are not retained: the caller may reuse them at once.
	Allow(ctx context.Context, key []byte, res *Result)
	// AllowN is Allow for a request that costs n units (n >= 1).
	AllowN(ctx context.Context, key []byte, n int64, res *Result)
}

// Source tells which part of a limiter produced a decision.
type Source uint8

const (
	// SourceLocal: the Local limiter decided (policy "local").
	SourceLocal Source = iota
	// SourceRedis: Redis decided, atomically for the whole cluster.
	SourceRedis
	// SourceFallback: Redis failed (Result.Err says why) and the node's
	// local fallback decided, with every limit divided by the node count.
	SourceFallback
	// SourceErrorAllow: Redis failed and OnErrorAllow passed the request
	// without counting it. Result.Windows is empty.
	SourceErrorAllow
	// SourceErrorDeny: Redis failed and OnErrorDeny refused the request.
	// Result.Windows is empty; RetryAfter is the retry interval.
	SourceErrorDeny
)

// String returns a lowercase name of s, for logs and metrics labels.
func (s Source) String() string {
	switch s {
	case SourceLocal:
		return "local"
	case SourceRedis:
		return "redis"
	case SourceFallback:
		return "fallback"
	case SourceErrorAllow:
		return "error-allow"
	case SourceErrorDeny:
		return "error-deny"
	}
	return "source(" + strconv.Itoa(int(s)) + ")"
}

// Result is one decision. Reuse one Result per goroutine (or per pooled
// request context): once Windows has grown to the number of windows of the
// limit, deciding and writing the header fields allocate nothing.
type Result struct {
	// Allowed reports whether the request may pass. A refused request was
	// not counted in any window.
	Allowed bool
	// RetryAfter is, for a refused request, how long until the same request
	// would pass if nothing else happened (the largest wait over the
	// windows that refused it). 0 for an allowed request.
	RetryAfter time.Duration
	// Windows describes every window of the limit after the decision, in
	// the order of Limit.Windows. Empty for SourceErrorAllow and
	// SourceErrorDeny, where nothing was counted.
	Windows []WindowState
	// Source tells who decided.
	Source Source
	// Err is why Redis could not decide (SourceFallback, SourceErrorAllow,
	// SourceErrorDeny); nil otherwise. ErrUnavailable while the limiter
	// waits out its retry interval after a failure.
	Err error
}

// WindowState is the state of one window after a decision. Every field is
// a number (or a string owned by the limiter), so that header fields are
// written with strconv.Append* and no allocation.
type WindowState struct {
	// Name is the policy name (Window.Name, or derived from Per: "60s").
	// The string belongs to the limiter and never changes.
	Name string
	// Limit is the window's Requests (divided by the node count when the
	// Redis fallback decided).
	Limit int64
	// Window is the window's Per.
	Window time.Duration
	// Remaining is how many more requests of cost 1 the window would pass
	// right now (at most Burst for GCRA).
	Remaining int64
	// Reset is how long until the window has its whole quota again (every
	// request counted now has left the window, or the GCRA bucket is full).
	Reset time.Duration
}

// Tightest returns the index in r.Windows of the window closest to
// refusing: the smallest Remaining, then the longest Reset. This is the
// window to report in RateLimit-Limit/-Remaining/-Reset. -1 when r has no
// windows.
func (r *Result) Tightest() int {
	best := -1
	for i := range r.Windows {
		w := &r.Windows[i]
		if best < 0 || w.Remaining < r.Windows[best].Remaining ||
			(w.Remaining == r.Windows[best].Remaining && w.Reset > r.Windows[best].Reset) {
			best = i
		}
	}
	return best
}

// seconds rounds d up to whole seconds (HTTP delay-seconds never promise
// earlier than the truth).
func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// RetryAfterSeconds is RetryAfter in whole seconds for the Retry-After
// header field: rounded up, and at least 1 for a refused request.
func (r *Result) RetryAfterSeconds() int64 {
	if r.Allowed {
		return 0
	}
	return max(1, seconds(r.RetryAfter))
}

// ResetSeconds is Reset rounded up to whole seconds.
func (w *WindowState) ResetSeconds() int64 { return seconds(w.Reset) }

// AppendRateLimit appends the value of the IETF RateLimit field
// (draft-ietf-httpapi-ratelimit-headers): one item per window,
// `"60s";r=42;t=17, "1s";r=9;t=1`.
func (r *Result) AppendRateLimit(dst []byte) []byte {
	for i := range r.Windows {
		w := &r.Windows[i]
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendName(dst, w.Name)
		dst = append(dst, ";r="...)
		dst = strconv.AppendInt(dst, w.Remaining, 10)
		dst = append(dst, ";t="...)
		dst = strconv.AppendInt(dst, w.ResetSeconds(), 10)
	}
	return dst
}

// AppendRateLimitPolicy appends the value of the IETF RateLimit-Policy
// field: one item per window, `"60s";q=100;w=60`.
func (r *Result) AppendRateLimitPolicy(dst []byte) []byte {
	for i := range r.Windows {
		w := &r.Windows[i]
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendName(dst, w.Name)
		dst = append(dst, ";q="...)
		dst = strconv.AppendInt(dst, w.Limit, 10)
		dst = append(dst, ";w="...)
		dst = strconv.AppendInt(dst, seconds(w.Window), 10)
	}
	return dst
}

// appendName appends a policy name as a structured-field String. Names are
// validated (validName) so nothing needs escaping.
func appendName(dst []byte, name string) []byte {
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"')
}

// validName reports whether s is a usable policy name: 1 to 64 of
// A-Z a-z 0-9 . _ -, so it is safe in a header without escaping.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
