package session

import (
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

func benchSetup(tb testing.TB, cipher string) (plugin.RequestHandler, *plugin.Context) {
	cfg, err := config.Parse("bench.toml", []byte(`
[[consumers]]
name = "alice"
groups = ["admins", "ops"]
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  keys = ["`+keyNew+`", "`+keyOld+`"]
  cipher = "`+cipher+`"
`))
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := consumer.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	// With the shared store, as in the gateway: the check looks the
	// session up among the revoked ones.
	inst, err := New(plugin.Spec{Config: cfg.Routes[0].Plugins[0].Config, Env: &plugin.Env{Config: cfg, Consumers: reg,
		Store: store.New(store.MinSize)}})
	if err != nil {
		tb.Fatal(err)
	}
	step := inst.(*checkStep)
	now := time.Now()
	ck := sealed(step.p, now, now, "alice")
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI("/app/x")
	fc.Request.Header.Set("User-Agent", "bench")
	fc.Request.Header.Set("Cookie", "theme=dark; moongate_session="+ck)
	return step, plugintest.NewContext(fc)
}

// BenchmarkSessionCheck is the cookie check on success: decode, open,
// parse, find the consumer, set the identity headers. Each iteration
// starts from a fresh copy of the client's headers, as a new request
// would; BenchmarkHeaderCopy is the cost of that copy, to subtract.
func BenchmarkSessionCheck(b *testing.B) {
	for _, cipher := range []string{"aes-256-gcm", "xchacha20-poly1305"} {
		b.Run(cipher, func(b *testing.B) {
			step, c := benchSetup(b, cipher)
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
	}
}

// BenchmarkHeaderCopy is the baseline of BenchmarkSessionCheck.
func BenchmarkHeaderCopy(b *testing.B) {
	_, c := benchSetup(b, "aes-256-gcm")
	var tmpl fasthttp.RequestHeader
	c.Request.Header.CopyTo(&tmpl)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tmpl.CopyTo(&c.Request.Header)
	}
}

func TestSessionCheckAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	for _, cipher := range []string{"aes-256-gcm", "xchacha20-poly1305"} {
		step, c := benchSetup(t, cipher)
		step.OnRequest(c)
		if n := testing.AllocsPerRun(100, func() {
			c.Consumer = nil
			step.OnRequest(c)
		}); n != 0 {
			t.Fatalf("%s: %v allocations per authenticated request, want 0", cipher, n)
		}
		if c.Consumer == nil || c.Consumer.Name != "alice" {
			t.Fatalf("consumer %+v", c.Consumer)
		}
	}
}
