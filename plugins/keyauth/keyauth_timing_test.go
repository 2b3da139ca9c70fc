package keyauth

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

const benchTOML = `
[[consumers]]
name = "alice"
groups = ["admins", "ops"]
keys = ["alice-key-0123456789abcdef"]
[[consumers]]
name = "bob"
keys = ["bob-key"]
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "key-auth"
`

func benchStep(tb testing.TB) plugin.RequestHandler {
	cfg, err := config.Parse("bench.toml", []byte(benchTOML))
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := consumer.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	inst, err := New(plugin.Spec{Config: cfg.Routes[0].Plugins[0].Config, Env: &plugin.Env{Config: cfg, Consumers: reg}})
	if err != nil {
		tb.Fatal(err)
	}
	return inst.(plugin.RequestHandler)
}

func benchContext(key string) *plugin.Context {
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI("/orders/42")
	fc.Request.Header.Set("User-Agent", "bench")
	fc.Request.Header.Set("Accept", "application/json")
	fc.Request.Header.Set("X-API-Key", key)
	return plugintest.NewContext(fc)
}

// BenchmarkKeyAuth is the whole step on success: client identity headers
// looked for, key hashed and found, consumer and identity headers set.
// "request" starts each iteration from a fresh copy of the client's
// headers (as a new request would); "copy-only" is the cost of that copy,
// to subtract. "spoofed" keeps the identity headers of the previous
// iteration, so each run also removes three of them (a client sending
// forged identity headers).
func BenchmarkKeyAuth(b *testing.B) {
	step := benchStep(b)
	b.Run("request", func(b *testing.B) {
		c := benchContext("alice-key-0123456789abcdef")
		var tmpl fasthttp.RequestHeader
		c.Request.Header.CopyTo(&tmpl)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tmpl.CopyTo(&c.Request.Header)
			c.Consumer = nil
			if err := step.OnRequest(c); err != nil || c.Consumer == nil {
				b.Fatal("not authenticated", err)
			}
		}
	})
	b.Run("copy-only", func(b *testing.B) {
		c := benchContext("alice-key-0123456789abcdef")
		var tmpl fasthttp.RequestHeader
		c.Request.Header.CopyTo(&tmpl)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tmpl.CopyTo(&c.Request.Header)
		}
	})
	b.Run("spoofed", func(b *testing.B) {
		c := benchContext("alice-key-0123456789abcdef")
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.Consumer = nil
			if err := step.OnRequest(c); err != nil || c.Consumer == nil {
				b.Fatal("not authenticated", err)
			}
		}
	})
}

// BenchmarkKeyAuthParallel runs the step on every core at once.
func BenchmarkKeyAuthParallel(b *testing.B) {
	step := benchStep(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := benchContext("alice-key-0123456789abcdef")
		for pb.Next() {
			c.Consumer = nil
			step.OnRequest(c)
		}
	})
}

func TestKeyAuthAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	step := benchStep(t)
	c := benchContext("alice-key-0123456789abcdef")
	step.OnRequest(c)
	if n := testing.AllocsPerRun(100, func() {
		c.Consumer = nil
		step.OnRequest(c)
	}); n != 0 {
		t.Fatalf("%v allocations per authenticated request, want 0", n)
	}
	if c.Consumer == nil || c.Consumer.Name != "alice" {
		t.Fatalf("consumer %+v", c.Consumer)
	}
}

// BenchmarkKeyAuthConsumers authenticates with the key of the first,
// middle and last of n consumers (one key each), and refuses a key no
// consumer has: the lookup stays O(1) as n grows. B/consumer is the
// memory the step keeps for each consumer (registry and key index, the
// configuration dropped). The 1 000 000 case needs ~2 GB and half a
// minute to parse: it runs only with MOONGATE_BENCH_LARGE=1.
func BenchmarkKeyAuthConsumers(b *testing.B) {
	for _, n := range []int{10, 100000, 1000000} {
		b.Run("consumers="+strconv.Itoa(n), func(b *testing.B) {
			if n > 100000 && (os.Getenv("MOONGATE_BENCH_LARGE") != "1" || testing.Short()) {
				b.Skip("set MOONGATE_BENCH_LARGE=1 to build 1 000 000 consumers (~2 GB)")
			}
			var sb strings.Builder
			sb.WriteString("[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  name = \"key-auth\"\n")
			for i := range n {
				fmt.Fprintf(&sb, "[[consumers]]\nname = \"consumer-%d\"\nkeys = [\"key-%d-0123456789abcdef\"]\n", i, i)
			}
			toml := sb.String()
			before := liveHeap()
			step := buildStep(b, toml)
			held := liveHeap() - before
			runtime.KeepAlive(toml) // not counted as freed
			toml, sb = "", strings.Builder{}
			for _, at := range []struct {
				name string
				i    int
			}{{"first", 0}, {"middle", n / 2}, {"last", n - 1}, {"unknown", -1}} {
				b.Run(at.name, func(b *testing.B) {
					c := benchContext("key-" + strconv.Itoa(at.i) + "-0123456789abcdef")
					b.ReportAllocs()
					for b.Loop() {
						c.Consumer = nil
						c.Response.Reset() // a refusal adds WWW-Authenticate
						err := step.OnRequest(c)
						if at.i >= 0 && (err != nil || c.Consumer == nil) {
							b.Fatal("not authenticated", err)
						}
						if at.i < 0 && (err != nil || c.Consumer != nil) {
							b.Fatal("unknown key not refused", err)
						}
					}
					b.ReportMetric(float64(held)/float64(n), "B/consumer")
				})
			}
		})
	}
}

// buildStep builds the key-auth step of toml's first route; the
// configuration and the registry are dropped.
func buildStep(tb testing.TB, toml string) plugin.RequestHandler {
	cfg, err := config.Parse("bench.toml", []byte(toml))
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := consumer.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	inst, err := New(plugin.Spec{Config: cfg.Routes[0].Plugins[0].Config, Env: &plugin.Env{Config: cfg, Consumers: reg}})
	if err != nil {
		tb.Fatal(err)
	}
	return inst.(plugin.RequestHandler)
}

func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
