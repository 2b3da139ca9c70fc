package cache

import (
	"bytes"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
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
		d.one(httpbytes.TrimOWS(v[:i]))
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
			name, val = httpbytes.TrimOWS(t[:i]), httpbytes.TrimOWS(t[i+1:])
			break
		}
	}
	switch {
	case httpbytes.EqualFold(name, "max-age"):
		d.maxAge = seconds(val)
	case httpbytes.EqualFold(name, "s-maxage"):
		d.sMaxAge = seconds(val)
	case httpbytes.EqualFold(name, "stale-while-revalidate"):
		d.swr = seconds(val)
	case httpbytes.EqualFold(name, "stale-if-error"):
		d.sie = seconds(val)
	case httpbytes.EqualFold(name, "max-stale"):
		if len(val) == 0 {
			d.anyMaxStale = true
		} else {
			d.maxStale = seconds(val)
		}
	case httpbytes.EqualFold(name, "min-fresh"):
		d.minFresh = seconds(val)
	case httpbytes.EqualFold(name, "no-store"):
		d.noStore = true
	case httpbytes.EqualFold(name, "no-cache"):
		// A qualified no-cache="field" is treated as unqualified, as RFC
		// 9111 §5.2.2.4 allows: the response is revalidated every time.
		d.noCache = true
	case httpbytes.EqualFold(name, "private"):
		// Likewise, private="field" is treated as private (§5.2.2.7): a
		// shared cache does not store it.
		d.private = true
	case httpbytes.EqualFold(name, "public"):
		d.public = true
	case httpbytes.EqualFold(name, "must-revalidate"):
		d.mustRevalidate = true
	case httpbytes.EqualFold(name, "proxy-revalidate"):
		d.proxyRevalidate = true
	case httpbytes.EqualFold(name, "only-if-cached"):
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
func containsToken(list []byte, tok string) bool { return httpbytes.HasToken(list, tok) }

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

// parseDate parses an HTTP date (RFC 9110 §5.6.7) into Unix nanoseconds;
// ok is false for an invalid one. Only the three formats are read, exactly
// as written there, GMT in any case (as are day and month names):
//
//	Sun, 06 Nov 1994 08:49:37 GMT    IMF-fixdate
//	Sunday, 06-Nov-94 08:49:37 GMT   obsolete RFC 850 format
//	Sun Nov  6 08:49:37 1994         obsolete asctime format
//
// Anything else (runs of spaces, a one-digit hour, another zone, trailing
// text) is invalid: an invalid Expires means already expired (RFC 9111
// §5.3), an invalid Date or If-Modified-Since is ignored. The weekday is
// not checked against the date, as in nginx. A two-digit RFC 850 year
// more than 50 years ahead is in the past century (RFC 9110 §5.6.7). The
// result is clamped to minDate..maxDate, so that dates keep their order.
func parseDate(v []byte) (int64, bool) {
	v = httpbytes.TrimOWS(v)
	var year, day, hour, minute, sec int
	var month time.Month
	ok := false
	switch {
	case len(v) == 29 && v[3] == ',':
		// Sun, 06 Nov 1994 08:49:37 GMT
		ok = dayName(v[:3], false) && v[4] == ' ' && num(v[5:7], &day) && v[7] == ' ' &&
			monthName(v[8:11], &month) && v[11] == ' ' && num(v[12:16], &year) && v[16] == ' ' &&
			clock(v[17:25], &hour, &minute, &sec) && v[25] == ' ' && httpbytes.EqualFold(v[26:], "gmt")
	case len(v) == 24 && v[3] == ' ':
		// Sun Nov  6 08:49:37 1994
		d := v[8:10]
		if d[0] == ' ' {
			d = d[1:]
		}
		ok = dayName(v[:3], false) && monthName(v[4:7], &month) && v[7] == ' ' && num(d, &day) &&
			v[10] == ' ' && clock(v[11:19], &hour, &minute, &sec) && v[19] == ' ' && num(v[20:24], &year)
	default:
		// Sunday, 06-Nov-94 08:49:37 GMT
		i := bytes.IndexByte(v, ',')
		if i < 0 || len(v)-i != 24 {
			return 0, false
		}
		r := v[i:]
		ok = dayName(v[:i], true) && r[1] == ' ' && num(r[2:4], &day) && r[4] == '-' &&
			monthName(r[5:8], &month) && r[8] == '-' && num(r[9:11], &year) && r[11] == ' ' &&
			clock(r[12:20], &hour, &minute, &sec) && r[20] == ' ' && httpbytes.EqualFold(r[21:], "gmt")
		if ok {
			now := time.Now().UTC().Year()
			year += now - now%100
			if year > now+50 {
				year -= 100
			}
		}
	}
	if !ok || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	t := time.Date(year, month, day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day {
		return 0, false // 31 Feb
	}
	switch s := t.Unix(); {
	case s < minDate/int64(time.Second):
		return minDate, true
	case s > maxDate/int64(time.Second):
		return maxDate, true
	}
	return t.UnixNano(), true
}

// num reads the decimal digits of b (all of it) into n.
func num(b []byte, n *int) bool {
	if len(b) == 0 {
		return false
	}
	x := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
		x = x*10 + int(c-'0')
	}
	*n = x
	return true
}

// clock reads "hh:mm:ss", two digits each.
func clock(b []byte, h, m, s *int) bool {
	return len(b) == 8 && b[2] == ':' && b[5] == ':' && num(b[0:2], h) && num(b[3:5], m) && num(b[6:8], s)
}

var (
	dayNames   = [...]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
)

// dayName reports whether b is a day name: its three-letter form, or,
// with long, its full one (RFC 850 dates), in any case.
func dayName(b []byte, long bool) bool {
	for _, d := range dayNames {
		if !long {
			d = d[:3]
		}
		if httpbytes.EqualFold(b, d) {
			return true
		}
	}
	return false
}

// monthName reads a three-letter month name, in any case.
func monthName(b []byte, m *time.Month) bool {
	for i, n := range monthNames {
		if httpbytes.EqualFold(b, n) {
			*m = time.Month(i + 1)
			return true
		}
	}
	return false
}

// ageValue reads a response's Age (RFC 9111 §5.1). Age is a singleton
// field: of a list, on one line ("7200, 0") or on several, the first
// member counts; a value that is not a non-negative integer is ignored
// (0). Like every delta-seconds, it is capped at 2^31 s.
func ageValue(h *fasthttp.ResponseHeader) int64 {
	v := h.Peek("Age")
	if i := bytes.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	v = httpbytes.TrimOWS(v)
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
	}
	return seconds(v)
}
