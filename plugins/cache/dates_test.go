package cache_test

import (
	"testing"
	"time"
)

// TestExpiresReadAsWritten: an Expires the cache cannot read as the
// instant it names is in the past (RFC 9111 §5.3). Found by FuzzHTTPDate:
// a date before 1678 wrapped around into the future (an Expires of the
// year 1600 kept a response fresh until 2184), and an RFC 850 date in any
// zone but GMT was read in the process's time zone.
func TestExpiresReadAsWritten(t *testing.T) {
	soon := time.Now().Add(time.Hour).UTC()
	for _, tc := range []struct {
		name, expires, second string
	}{
		{"the year 1600 is in the past", "Thu, 01 Jan 1600 00:00:00 GMT", "MISS"},
		{"the year 1677 is in the past", "Fri, 01 Jan 1677 00:00:00 GMT", "MISS"},
		{"an RFC 850 date in PST is invalid", soon.Format("Monday, 02-Jan-06 15:04:05") + " PST", "MISS"},
		{"an RFC 850 date in GMT is read", soon.Format("Monday, 02-Jan-06 15:04:05") + " GMT", "HIT"},
		{"the year 9999 is in the future", "Fri, 31 Dec 9999 23:59:59 GMT", "HIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := counter("Expires", tc.expires)
			g, _ := setup(t, h, "")
			expect(t, g, "/x", "MISS", 200, "n=1")
			want := "n=1"
			if tc.second == "MISS" {
				want = "n=2"
			}
			expect(t, g, "/x", tc.second, 200, want)
		})
	}
}
