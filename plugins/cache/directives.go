package cache

import (
	"time"

	"github.com/valyala/fasthttp"
)

// directives holds the Cache-Control directives the cache acts on (RFC
// 9111 §5.2), parsed from one or more header values without allocating.
// Durations are in nanoseconds; -1 means "absent".
type directives struct {
	maxAge, sMaxAge, swr, sie int64
	maxStale, minFresh        int64
	noStore, noCache, private bool
	public, mustRevalidate    bool
	proxyRevalidate           bool
	onlyIfCached              bool
	anyMaxStale               bool // max-stale without a value
}

func newDirectives() directives {
	return directives{maxAge: -1, sMaxAge: -1, swr: -1, sie: -1, maxStale: -1, minFresh: -1}
}

// parse adds the directives of one Cache-Control value. Unknown directives
// are ignored; a directive with an invalid number is treated as the
// strictest reading (RFC 9111 §4.2.1: an invalid max-age means stale).
func (d *directives) parse(v []byte) {
	for len(v) > 0 {
		// one directive: name[=value], up to the next comma outside quotes
		i := 0
		inQuote := false
		for i < len(v) && (inQuote || v[i] != ',') {
			if v[i] == '"' {
				inQuote = !inQuote
			}
			i++
		}
		d.one(trim(v[:i]))
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
}

func (d *directives) one(t []byte) {
	if len(t) == 0 {
		return
	}
	name, val := t, []byte(nil)
	for i, c := range t {
		if c == '=' {
			name, val = trim(t[:i]), trim(t[i+1:])
			break
		}
	}
	switch {
	case eqFold(name, "max-age"):
		d.maxAge = seconds(val)
	case eqFold(name, "s-maxage"):
		d.sMaxAge = seconds(val)
	case eqFold(name, "stale-while-revalidate"):
		d.swr = seconds(val)
	case eqFold(name, "stale-if-error"):
		d.sie = seconds(val)
	case eqFold(name, "max-stale"):
		if len(val) == 0 {
			d.anyMaxStale = true
		} else {
			d.maxStale = seconds(val)
		}
	case eqFold(name, "min-fresh"):
		d.minFresh = seconds(val)
	case eqFold(name, "no-store"):
		d.noStore = true
	case eqFold(name, "no-cache"):
		// A qualified no-cache="field" is treated as unqualified, as RFC
		// 9111 §5.2.2.4 allows: the response is revalidated every time.
		d.noCache = true
	case eqFold(name, "private"):
		// Likewise, private="field" is treated as private (§5.2.2.7): a
		// shared cache does not store it.
		d.private = true
	case eqFold(name, "public"):
		d.public = true
	case eqFold(name, "must-revalidate"):
		d.mustRevalidate = true
	case eqFold(name, "proxy-revalidate"):
		d.proxyRevalidate = true
	case eqFold(name, "only-if-cached"):
		d.onlyIfCached = true
	}
}

// seconds parses a delta-seconds value (quotes tolerated); an invalid one
// is 0, a huge one is capped at 68 years.
func seconds(v []byte) int64 {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if len(v) == 0 {
		return 0
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
		if n < 1<<31 {
			n = n*10 + int64(c-'0')
		}
	}
	n = min(n, 1<<31)
	return n * int64(time.Second)
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// responseDirectives parses the response's Cache-Control headers.
func responseDirectives(h *fasthttp.ResponseHeader) directives {
	d := newDirectives()
	for _, v := range h.PeekAll("Cache-Control") {
		d.parse(v)
	}
	return d
}

// containsToken reports whether a comma-separated list holds tok
// (case-insensitive).
func containsToken(list []byte, tok string) bool {
	for len(list) > 0 {
		i := 0
		for i < len(list) && list[i] != ',' {
			i++
		}
		if eqFold(trim(list[:i]), tok) {
			return true
		}
		if i == len(list) {
			break
		}
		list = list[i+1:]
	}
	return false
}

// heuristicStatus reports whether a status is heuristically cacheable
// (RFC 9110 §15.1), so that RFC 9111 §4.2.2 heuristic freshness applies.
func heuristicStatus(s int) bool {
	switch s {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// minDate and maxDate bound what parseDate returns (whole seconds near
// ±2^62 ns, the years 1823 and 2116): an HTTP date can name years 1 to
// 9999, which nanoseconds in an int64 cannot hold, and the cache
// subtracts dates from each other.
const (
	minDate = -4611686018 * int64(time.Second)
	maxDate = 4611686018 * int64(time.Second)
)

// parseDate parses an HTTP date into Unix nanoseconds, clamped to
// minDate..maxDate so that dates keep their order (an Expires in the year
// 1600 is in the past, not wrapped into the future); ok is false for an
// invalid one.
func parseDate(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	t, err := fasthttp.ParseHTTPDate(v)
	if err != nil {
		return 0, false
	}
	// HTTP dates are in GMT (RFC 9110 §5.6.7). The obsolete RFC 850 form
	// is parsed with a zone abbreviation, which Go reads as an offset of
	// the process's time zone if it knows it, else as 0: "PST" would move
	// the date by the server's TZ setting.
	if name, off := t.Zone(); off != 0 || name != "GMT" && name != "UTC" {
		return 0, false
	}
	switch {
	case t.Before(time.Unix(0, minDate)):
		return minDate, true
	case t.After(time.Unix(0, maxDate)):
		return maxDate, true
	}
	return t.UnixNano(), true
}
