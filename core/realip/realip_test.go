package realip

import (
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := NewTrusted([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")})
	for _, tc := range []struct {
		name, remote, xff, want string
	}{
		{"untrusted peer ignores the header", "203.0.113.9", "1.2.3.4", "203.0.113.9"},
		{"no header", "10.0.0.1", "", "10.0.0.1"},
		{"one trusted hop", "10.0.0.1", "198.51.100.7", "198.51.100.7"},
		{"client-prepended entries are skipped", "10.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"},
		{"chain of trusted proxies", "10.0.0.1", "198.51.100.7, 192.168.1.1, 10.2.3.4", "198.51.100.7"},
		{"all trusted: leftmost", "10.0.0.1", "10.9.9.9, 10.8.8.8", "10.9.9.9"},
		{"garbage stops the walk", "10.0.0.1", "198.51.100.7, nonsense", "10.0.0.1"},
		{"ports and brackets", "10.0.0.1", "[2001:db8::1]:443, 10.1.1.1:80", "2001:db8::1"},
		{"mapped v4 peer", "::ffff:10.0.0.1", "198.51.100.7", "198.51.100.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := trusted.ClientIP(netip.MustParseAddr(tc.remote), []byte(tc.xff))
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
