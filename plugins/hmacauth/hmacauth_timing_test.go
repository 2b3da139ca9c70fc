package hmacauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

// BenchmarkHMACAuth verifies a signed GET; each iteration signs a new
// target, since a signature is accepted once.
func BenchmarkHMACAuth(b *testing.B) {
	cfg, err := config.Parse("bench.toml", []byte(`
[[consumers]]
name = "alice"
hmac_secrets = [{ key = "alice-hmac", secret = "`+secret+`" }]
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "hmac-auth"
`))
	if err != nil {
		b.Fatal(err)
	}
	reg, _ := consumer.New(cfg)
	inst, err := New(plugin.Spec{Config: cfg.Routes[0].Plugins[0].Config, Env: &plugin.Env{Config: cfg, Consumers: reg, Store: store.New(store.MinSize)}})
	if err != nil {
		b.Fatal(err)
	}
	step := inst.(plugin.RequestHandler)
	date := time.Now().UTC().Format(http.TimeFormat)
	reqs := make([]*fasthttp.RequestCtx, b.N)
	for i := range reqs {
		target := "/orders?n=" + strconv.Itoa(i)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("@request-target: get " + target + "\ndate: " + date))
		fc := &fasthttp.RequestCtx{}
		fc.Request.SetRequestURI(target)
		fc.Request.Header.Set("Date", date)
		fc.Request.Header.Set("Authorization", `Signature keyId="alice-hmac",algorithm="hmac-sha256",headers="@request-target date",signature="`+
			base64.StdEncoding.EncodeToString(m.Sum(nil))+`"`)
		reqs[i] = fc
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := plugintest.NewContext(reqs[i])
		if step.OnRequest(c); c.Consumer == nil {
			b.Fatal("not authenticated", string(c.Response.Body()))
		}
		plugintest.Release(c)
	}
}
