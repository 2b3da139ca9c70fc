package admin

import (
	"net/netip"
	"testing"
)

func TestHostAllowed(t *testing.T) {
	for _, tc := range []struct {
		bound   string
		allowed []string
		host    string
		want    bool
	}{
		{"127.0.0.1:9080", nil, "localhost:9080", true},
		{"127.0.0.1:9080", nil, "localhost.:9080", true},
		{"127.0.0.1:9080", nil, "127.0.0.1", true},
		{"127.0.0.1:9080", nil, "[::1]:9080", true},
		{"127.0.0.1:9080", nil, "[::1]", true},
		{"127.0.0.1:9080", nil, "localhost:9081", false},
		{"127.0.0.1:9080", nil, "localhost:", false},
		{"127.0.0.1:9080", nil, "[::1", false},
		{"127.0.0.1:9080", nil, "10.0.0.5:9080", false},
		{"127.0.0.1:9080", nil, "attacker.tld:9080", false},
		{"127.0.0.1:9080", nil, "localhost.attacker.tld", false},
		{"10.0.0.5:9080", nil, "10.0.0.5:9080", true},
		{"10.0.0.5:9080", nil, "10.0.0.6:9080", false},
		// Bound to every address: any IP address is its own, names are not.
		{"0.0.0.0:9080", nil, "10.0.0.5:9080", true},
		{"0.0.0.0:9080", nil, "[fd00::5]:9080", true},
		{"0.0.0.0:9080", nil, "10.0.0.5:1", false},
		{"0.0.0.0:9080", nil, "gateway.internal:9080", false},
		{"0.0.0.0:9080", []string{"Gateway.Internal"}, "gateway.internal:9080", true},
		{"0.0.0.0:9080", []string{"gateway.internal"}, "GATEWAY.INTERNAL:443", true},
		{"0.0.0.0:9080", []string{"gateway.internal"}, "gateway.internal.evil:9080", false},
		{"127.0.0.1:9080", []string{"fd00::1"}, "[fd00::1]:8443", true},
	} {
		s := New(Options{AllowedHosts: tc.allowed})
		s.bound = netip.MustParseAddrPort(tc.bound)
		if got := s.hostAllowed([]byte(tc.host)); got != tc.want {
			t.Errorf("bound %s, allowed %v, Host %q: got %v, want %v", tc.bound, tc.allowed, tc.host, got, tc.want)
		}
	}
}

func TestReaches(t *testing.T) {
	loop := netip.MustParseAddrPort("127.0.0.1:1")
	all := netip.MustParseAddrPort("0.0.0.0:2")
	addLive(loop)
	addLive(all)
	defer removeLive(loop)
	defer removeLive(all)
	for dst, want := range map[string]bool{
		"127.0.0.1:1":          true,
		"[::ffff:127.0.0.1]:1": true,
		"0.0.0.0:1":            true,
		"[::]:1":               true,
		"127.0.0.2:1":          false, // another loopback address: not this socket
		"127.0.0.1:3":          false,
		"127.0.0.9:2":          true, // bound to every address: all of loopback
		"[::1]:2":              true,
		"192.0.2.1:2":          false, // TEST-NET-1: not an address of this host
	} {
		if got := Reaches(netip.MustParseAddrPort(dst)); got != want {
			t.Errorf("Reaches(%s) = %v, want %v", dst, got, want)
		}
	}
	for ip := range localAddrs() {
		if !Reaches(netip.AddrPortFrom(ip, 2)) {
			t.Errorf("Reaches(%s:2) = false for an address of this host", ip)
		}
	}
}
