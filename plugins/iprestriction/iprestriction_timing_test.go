package iprestriction

import (
	"net/netip"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

func newPlugin(tb testing.TB, allow, deny []any) *Plugin {
	inst, err := New(plugin.Spec{Config: config.NewTable("config", map[string]any{"allow": allow, "deny": deny})})
	if err != nil {
		tb.Fatal(err)
	}
	return inst.(*Plugin)
}

func TestAllowed(t *testing.T) {
	p := newPlugin(t, []any{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}, []any{"10.9.0.0/16"})
	for addr, want := range map[string]bool{"10.1.2.3": true, "10.9.1.1": false, "192.0.2.7": true, "192.0.2.8": false,
		"2001:db8::1": true, "::ffff:10.1.2.3": true, "::1": false} {
		if got := p.Allowed(netip.MustParseAddr(addr)); got != want {
			t.Fatalf("%s: %v, want %v", addr, got, want)
		}
	}
	if p.Allowed(netip.Addr{}) {
		t.Fatal("an unknown address passed an allow list")
	}
}

func BenchmarkIPRestriction(b *testing.B) {
	p := newPlugin(b, []any{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, []any{"10.9.0.0/16"})
	a := netip.MustParseAddr("192.168.1.20")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !p.Allowed(a) {
			b.Fatal("denied")
		}
	}
}
