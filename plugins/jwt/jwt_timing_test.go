package jwt

import (
	"path/filepath"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func benchPlugin(b *testing.B, k *testKeys, cacheSize string) plugin.RequestHandler {
	cfg, err := config.Parse("bench.toml", []byte(`
[[consumers]]
name = "alice"
jwt_secrets = [{ key = "alice-iss", secret = "`+aliceSecret+`", algorithm = "HS256" }]
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "jwt"
  [routes.plugins.config]
  algorithms = ["HS256", "RS256", "ES256", "EdDSA"]
  cache_size = `+cacheSize+`
  keys = [
    { kid = "r1", algorithm = "RS256", public_key = "file:`+k.rsaFile+`" },
    { kid = "e1", algorithm = "ES256", public_key = "file:`+filepath.Join(k.dir, "ec.pem")+`" },
    { kid = "d1", algorithm = "EdDSA", public_key = "file:`+filepath.Join(k.dir, "ed.pem")+`" },
  ]
`))
	if err != nil {
		b.Fatal(err)
	}
	reg, err := consumer.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	inst, err := New(plugin.Spec{Config: cfg.Routes[0].Plugins[0].Config, Env: &plugin.Env{Config: cfg, Consumers: reg}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inst.(plugin.Cleaner).Cleanup() })
	return inst.(plugin.RequestHandler)
}

// BenchmarkJWT is the whole jwt step per algorithm: "uncached" verifies
// the signature and claims every time, "cached" finds the token among
// those already verified.
func BenchmarkJWT(b *testing.B) {
	k := getKeys(b)
	tokens := []struct{ alg, token string }{
		{"HS256", sign(b, "HS256", "", []byte(aliceSecret), claims(map[string]any{"iss": "alice-iss"}))},
		{"RS256", sign(b, "RS256", "r1", k.rsa, claims(nil))},
		{"ES256", sign(b, "ES256", "e1", k.ec, claims(nil))},
		{"EdDSA", sign(b, "EdDSA", "d1", k.ed, claims(nil))},
	}
	for _, mode := range []struct{ name, size string }{{"uncached", "0"}, {"cached", "10000"}} {
		step := benchPlugin(b, k, mode.size)
		for _, tk := range tokens {
			b.Run(tk.alg+"/"+mode.name, func(b *testing.B) {
				fc := &fasthttp.RequestCtx{}
				fc.Request.SetRequestURI("/x")
				fc.Request.Header.Set("Authorization", "Bearer "+tk.token)
				c := plugintest.NewContext(fc)
				var tmpl fasthttp.RequestHeader
				c.Request.Header.CopyTo(&tmpl)
				if err := step.OnRequest(c); err != nil || c.Consumer == nil {
					b.Fatal("not authenticated", err, string(c.Response.Body()))
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					tmpl.CopyTo(&c.Request.Header)
					c.Consumer = nil
					step.OnRequest(c)
				}
				if c.Consumer == nil {
					b.Fatal("not authenticated")
				}
			})
		}
	}
}
