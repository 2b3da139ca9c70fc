package realip

import (
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := NewTrusted([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")})
	for _, tc := range []struct {
		name, remote string
		xff          []string // X-Forwarded-For lines, in order
		want         string
	}{
		{"untrusted peer ignores the header", "203.0.113.9", []string{"1.2.3.4"}, "203.0.113.9"},
		{"untrusted peer ignores every line", "203.0.113.9", []string{"1.2.3.4", "5.6.7.8"}, "203.0.113.9"},
		{"no header", "10.0.0.1", nil, "10.0.0.1"},
		{"one trusted hop", "10.0.0.1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client-prepended entries are skipped", "10.0.0.1", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies", "10.0.0.1", []string{"198.51.100.7, 192.168.1.1, 10.2.3.4"}, "198.51.100.7"},
		{"all trusted: leftmost", "10.0.0.1", []string{"10.9.9.9, 10.8.8.8"}, "10.9.9.9"},
		{"garbage stops the walk", "10.0.0.1", []string{"198.51.100.7, nonsense"}, "10.0.0.1"},
		{"ports and brackets", "10.0.0.1", []string{"[2001:db8::1]:443, 10.1.1.1:80"}, "2001:db8::1"},
		{"mapped v4 peer", "::ffff:10.0.0.1", []string{"198.51.100.7"}, "198.51.100.7"},
		// A proxy that appends a line of its own (HAProxy's option
		// forwardfor): the client's forged line comes first, the
		// proxy's last, and the last line is read first.
		{"forged first line, proxy's line last", "10.0.0.1", []string{"10.0.0.1", "203.0.113.9"}, "203.0.113.9"},
		{"lines are one list", "10.0.0.1", []string{"6.6.6.6, 10.0.0.7", "198.51.100.7, 10.0.0.8"}, "198.51.100.7"},
		{"walk goes on into earlier lines", "10.0.0.1", []string{"6.6.6.6, 198.51.100.7", "10.0.0.8", "10.0.0.9"}, "198.51.100.7"},
		{"empty lines and elements are skipped", "10.0.0.1", []string{"198.51.100.7", "", " , 10.0.0.8,"}, "198.51.100.7"},
		{"garbage in an earlier line stops the walk", "10.0.0.1", []string{"nonsense", "10.0.0.8"}, "10.0.0.8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines [][]byte
			for _, l := range tc.xff {
				lines = append(lines, []byte(l))
			}
			got := trusted.ClientIP(netip.MustParseAddr(tc.remote), lines...)
			if got.String() != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	var none *Trusted
	if got := none.ClientIP(netip.MustParseAddr("10.0.0.1"), []byte("1.2.3.4")); got.String() != "10.0.0.1" {
		t.Errorf("nil set trusted a header: %s", got)
	}
}

// parseIPv4 agrees with netip.ParseAddr.
func TestParseIPv4(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "1.2.3.4", "255.255.255.255", "10.0.0.1", "256.1.1.1", "1.2.3", "1.2.3.4.5",
		"01.2.3.4", "1.2.3.04", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4a", "", "a.b.c.d", "1.2.3.-4", "1000.1.1.1", "0.0.0.00"} {
		want, err := netip.ParseAddr(s)
		got, ok := parseIPv4([]byte(s))
		if ok != (err == nil) || ok && got != want {
			t.Errorf("parseIPv4(%q) = %v, %v; netip: %v, %v", s, got, ok, want, err)
		}
	}
}

func TestClientIPDoesNotAllocate(t *testing.T) {
	trusted := NewTrusted([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	remote := netip.MustParseAddr("10.0.0.1")
	lines := [][]byte{[]byte("6.6.6.6, 198.51.100.7"), []byte("10.0.0.8")}
	if n := testing.AllocsPerRun(100, func() { trusted.ClientIP(remote, lines...) }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

func BenchmarkClientIP(b *testing.B) {
	trusted := NewTrusted([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	remote := netip.MustParseAddr("10.0.0.1")
	for _, bc := range []struct {
		name  string
		lines [][]byte
	}{
		{"one line", [][]byte{[]byte("6.6.6.6, 198.51.100.7, 10.0.0.8")}},
		{"two lines", [][]byte{[]byte("6.6.6.6, 198.51.100.7"), []byte("10.0.0.8")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				trusted.ClientIP(remote, bc.lines...)
			}
		})
	}
}
