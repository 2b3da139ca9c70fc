package limitkey

import (
	"testing"

	"github.com/moongate/moongate/core/consumer"
)

// TestAppendDoesNotAllocate: composing a key, every kind of part
// together, allocates nothing once the buffer has grown.
func TestAppendDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	k, err := Parse([]string{"consumer", "ip", "header:X-Tenant", "param:id", "query:plan", "ctx:tier", "ctx:n"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := request(t, "http://x/users/42?plan=gold", "[2001:db8::1]:5000", "X-Tenant", "acme")
	c.Consumer = &consumer.Consumer{Name: "alice"}
	c.Params.Set("id", []byte("42"))
	c.SetValue("tier", "free")
	c.SetValue("n", float64(3.5))
	buf := make([]byte, 0, 256)
	buf, _ = k.Append(buf[:0], c)
	if n := testing.AllocsPerRun(1000, func() { buf, _ = k.Append(buf[:0], c) }); n != 0 {
		t.Errorf("%v allocations per key, want 0", n)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct {
		name string
		spec []string
	}{{"consumer", []string{"consumer"}}, {"ip", []string{"ip"}}, {"consumer+ip+header", []string{"consumer", "ip", "header:X-Tenant"}}} {
		b.Run(tc.name, func(b *testing.B) {
			k, err := Parse(tc.spec)
			if err != nil {
				b.Fatal(err)
			}
			c, _ := request(b, "http://x/", "192.0.2.7:5000", "X-Tenant", "acme")
			c.Consumer = &consumer.Consumer{Name: "alice"}
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf, _ = k.Append(buf[:0], c)
			}
		})
	}
}
