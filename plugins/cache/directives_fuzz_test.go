package cache

import (
	"bytes"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCacheControl parses fuzzed Cache-Control values. Besides never
// panicking: every duration is absent (-1) or between 0 and 2^31 s;
// directive names are ASCII case-insensitive; a value without quotes
// reads the same as its comma-separated parts read one after the other
// (as repeated header lines are); empty list elements are ignored; and
// containsToken agrees with a plain split of the list.
func FuzzCacheControl(f *testing.F) {
	for _, v := range []string{
		"max-age=60", "public, max-age=3600, s-maxage=600", "no-store", "no-cache, private",
		`private="Set-Cookie", no-cache="Set-Cookie"`, `max-age="60"`, `max-age="60`, `max-age=60"`,
		"max-age=-1", "max-age=1e3", "max-age=0x10", "max-age= 60 ", "max-age =60", "MAX-AGE=60",
		"max-age=99999999999999999999999999", "max-age=2147483648", "max-age=2147483647",
		"max-stale", "max-stale=", "max-stale=10", "min-fresh=5, only-if-cached",
		"stale-while-revalidate=30, stale-if-error=86400", "must-revalidate, proxy-revalidate",
		",,, ,max-age=1,,", `no-cache="a,b", max-age=5`, `"`, `"""`, "=", "==", "max-age==5",
		"max-age=5\x00", "max-age=\t5\t", "max-age=٣", "\xff\xfe", strings.Repeat("max-age=1,", 200),
	} {
		f.Add([]byte(v), "no-cache")
	}
	f.Add([]byte("Accept-Encoding, Cookie"), "cookie")
	f.Add([]byte(" , *"), "*")
	f.Fuzz(func(t *testing.T, v []byte, tok string) {
		d := newDirectives()
		d.parse(v)
		for name, n := range map[string]int64{"max-age": d.maxAge, "s-maxage": d.sMaxAge,
			"stale-while-revalidate": d.swr, "stale-if-error": d.sie, "max-stale": d.maxStale, "min-fresh": d.minFresh} {
			if n != -1 && (n < 0 || n > 1<<31*int64(time.Second)) {
				t.Fatalf("%s = %d out of range for %q", name, n, v)
			}
		}
		up := newDirectives()
		up.parse(asciiUpper(v))
		if up != d {
			t.Fatalf("upper-case %q reads differently:\n%+v\n%+v", v, up, d)
		}
		lead := newDirectives()
		lead.parse(append([]byte(" ,\t, "), v...))
		if lead != d {
			t.Fatalf("empty elements before %q change it:\n%+v\n%+v", v, lead, d)
		}
		if bytes.IndexByte(v, '"') < 0 {
			parts := newDirectives()
			for _, p := range bytes.Split(v, []byte(",")) {
				parts.parse(p)
			}
			if parts != d {
				t.Fatalf("%q read whole and part by part differs:\n%+v\n%+v", v, d, parts)
			}
		}
		if tok == "" {
			return // callers look for a token, never for ""
		}
		tok = string(asciiLower([]byte(tok)))
		want := false
		for _, e := range bytes.Split(v, []byte(",")) {
			if string(asciiLower(bytes.Trim(e, " \t"))) == tok {
				want = true
			}
		}
		if got := containsToken(v, tok); got != want {
			t.Fatalf("containsToken(%q, %q) = %v, want %v", v, tok, got, want)
		}
	})
}

// FuzzDeltaSeconds checks seconds, the delta-seconds reader of max-age,
// s-maxage and Age, against a big-number reading: digits (optionally
// quoted) give that many seconds capped at 2^31 (RFC 9111 §1.2.2); anything
// else is invalid and gives 0.
func FuzzDeltaSeconds(f *testing.F) {
	for _, v := range []string{"0", "60", `"60"`, `""`, `"`, "", "-1", "+1", " 1", "1 ", "1.5", "1e3",
		"2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
		"99999999999999999999999999999999", "00000000000000000000000000000060", "٣", "6\x000"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := seconds([]byte(v))
		s := v
		if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
			s = s[1 : len(s)-1]
		}
		var want int64
		if s != "" && strings.Trim(s, "0123456789") == "" {
			n, _ := new(big.Int).SetString(s, 10)
			if n.Cmp(big.NewInt(1<<31)) > 0 {
				n.SetInt64(1 << 31)
			}
			want = n.Int64() * int64(time.Second)
		}
		if got != want {
			t.Fatalf("seconds(%q) = %d, want %d", v, got, want)
		}
	})
}

// FuzzHTTPDate parses fuzzed HTTP dates. Besides never panicking: every
// date of years 1 to 9999 written in the preferred format (RFC 9110
// §5.6.7, http.TimeFormat) or the two obsolete ones reads back as that
// instant, clamped to the range the cache computes in (parseDate's
// minDate..maxDate), so that dates compare in the order they name; an
// accepted value is stable (the instant read, written again and read
// again, is the same); and an accepted value is one of the three formats,
// in GMT: what it names is written back the same, up to the weekday and
// ASCII case.
func FuzzHTTPDate(f *testing.F) {
	for _, v := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		"Mon, 06 Nov 1994 08:49:37 GMT", // wrong weekday: ignored, as nginx does
		"Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 PST", "Sunday, 06-Nov-94 08:49:37 PST", "Sun, 06 Nov 1994 08:49:37 +0000",
		"Sun, 06 Nov 1994 08:49:37", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 23:59:60 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
		"sun, 06 nov 1994 08:49:37 gmt", "Sun, 06 Nov 1994 08:49:37.123 GMT", "Sun,06 Nov 1994 08:49:37 GMT",
		"Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT",
		"Thu, 01 Jan 1600 00:00:00 GMT", "Sat, 01 Jan 2300 00:00:00 GMT", "Fri, 11 Apr 2262 23:47:17 GMT",
		"0", "-1", "", " ", "Sun, 06 Nov 1994 08:49:37 GMT ", " Sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT\x00", "Sun, 99 Zzz 1994 99:99:99 GMT", strings.Repeat("Sun, ", 100),
	} {
		f.Add([]byte(v), int64(784111777))
	}
	f.Add([]byte(""), int64(-62135596800))
	f.Add([]byte(""), int64(253402300799))
	f.Add([]byte(""), int64(-11676096000)) // 1600
	f.Add([]byte(""), int64(10413792000))  // 2300
	f.Fuzz(func(t *testing.T, v []byte, sec int64) {
		if ns, ok := parseDate(v); ok {
			tm := time.Unix(0, ns).UTC()
			again, ok2 := parseDate([]byte(tm.Format(http.TimeFormat)))
			// Go's time.Parse takes fractions of a second ("08:49:37.5")
			// that the formats do not have: tolerated, to the second.
			if !ok2 || again != tm.Truncate(time.Second).UnixNano() {
				t.Fatalf("%q reads as %d (%s), which reads back as %d (%v)", v, ns, tm.Format(http.TimeFormat), again, ok2)
			}
			if ns > minDate && ns < maxDate && !namesInstant(v, tm) {
				t.Fatalf("%q is accepted as %s", v, tm.Format(http.TimeFormat))
			}
		}
		const first, last = -62135596800, 253402300799 // years 1 and 9999
		sec = first + (sec%(last-first)+(last-first))%(last-first)
		tm := time.Unix(sec, 0).UTC()
		want := clampDate(tm)
		for _, layout := range []string{http.TimeFormat, time.ANSIC} {
			s := tm.Format(layout)
			if got, ok := parseDate([]byte(s)); !ok || got != want {
				t.Fatalf("%q reads as %d (%v), want %d", s, got, ok, want)
			}
		}
	})
}

// clampDate is the instant parseDate must give for tm.
func clampDate(tm time.Time) int64 {
	switch {
	case tm.Before(time.Unix(0, minDate)):
		return minDate
	case tm.After(time.Unix(0, maxDate)):
		return maxDate
	}
	return tm.UnixNano()
}

// namesInstant reports whether v names tm: its month name and its
// numbers are tm's, in the order of one of the three HTTP-date formats,
// and a zone, where the format has one, is GMT. Go's time.Parse is
// lenient in syntax (ASCII case, fractions of a second, the width of
// numbers, a sign before a 2-digit year); that is tolerated, but a date it
// reads differently from what is written (Feb 30 read as March 2, 24:00,
// a PST read as GMT) is not. The weekday is not checked, as in nginx.
func namesInstant(v []byte, tm time.Time) bool {
	s := fraction.ReplaceAllString(string(asciiLower(v)), "$1")
	if !strings.Contains(s, strings.ToLower(tm.Month().String()[:3])) {
		return false
	}
	var nums []int
	for _, d := range digits.FindAllString(s, -1) {
		n, err := strconv.Atoi(d)
		if err != nil {
			return false
		}
		nums = append(nums, n)
	}
	d, y, h, m, sec := tm.Day(), tm.Year(), tm.Hour(), tm.Minute(), tm.Second()
	zoned := strings.Contains(s, "gmt") || strings.Contains(s, "utc")
	return zoned && (slices.Equal(nums, []int{d, y, h, m, sec}) || slices.Equal(nums, []int{d, y % 100, h, m, sec})) ||
		slices.Equal(nums, []int{d, h, m, sec, y})
}

var (
	fraction = regexp.MustCompile(`(:[0-9]+)[.,][0-9]+`)
	digits   = regexp.MustCompile(`[0-9]+`)
)

func asciiUpper(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}
