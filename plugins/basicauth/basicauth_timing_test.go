package basicauth

import (
	"encoding/base64"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkBasicAuth: a plain password (SHA-256, constant-time compare)
// and a bcrypt hash (cost 10) whose success is remembered.
func BenchmarkBasicAuth(b *testing.B) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("bcrypt-pw"), 10)
	cfg, err := config.Parse("bench.toml", []byte(`
[[consumers]]
name = "alice"
basic_auth = [{ username = "alice", password = "plain-pw" }, { username = "alice2", password = "`+string(hash)+`" }]
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "basic-auth"
`))
	if err != nil {
		b.Fatal(err)
	}
	reg, _ := consumer.New(cfg)
	inst, err := New(plugin.Spec{Config: cfg.Routes[0].Plugins[0].Config, Env: &plugin.Env{Config: cfg, Consumers: reg}})
	if err != nil {
		b.Fatal(err)
	}
	step := inst.(plugin.RequestHandler)
	for _, tc := range []struct{ name, cred string }{{"plain", "alice:plain-pw"}, {"bcrypt-remembered", "alice2:bcrypt-pw"}} {
		b.Run(tc.name, func(b *testing.B) {
			fc := &fasthttp.RequestCtx{}
			fc.Request.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(tc.cred)))
			c := plugintest.NewContext(fc)
			var tmpl fasthttp.RequestHeader
			c.Request.Header.CopyTo(&tmpl)
			step.OnRequest(c)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tmpl.CopyTo(&c.Request.Header)
				c.Consumer = nil
				if step.OnRequest(c); c.Consumer == nil {
					b.Fatal("not authenticated")
				}
			}
		})
	}
}
