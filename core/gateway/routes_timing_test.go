package gateway_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// BenchmarkMockRoutes is BenchmarkMock (a global mock step answers) with
// 10, 1 000 and 10 000 routes, as core/router's BenchmarkMatchScale makes
// them (a third exact, a third prefixes, a third with a parameter, all
// under /v1/), the request matching the last parameter route: the whole
// runtime's cost of routing as the routes grow.
func BenchmarkMockRoutes(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run("routes="+strconv.Itoa(n), func(b *testing.B) {
			var sb strings.Builder
			sb.WriteString("[admin]\nlisten = \"\"\n[[plugins]]\nname = \"mock\"\n[plugins.config]\nbody = \"hello\"\n")
			sb.WriteString("[[upstreams]]\nname = \"u\"\ntargets = [{ url = \"http://127.0.0.1:9\" }]\n")
			last := 0
			for i := range n {
				res := "/v1/res" + strconv.Itoa(i)
				p := res + "/status"
				switch i % 3 {
				case 1:
					p = res + "/files/"
				case 2:
					p, last = res+"/{id}/orders", i
				}
				sb.WriteString("[[routes]]\npaths = [\"" + p + "\"]\nupstream = \"u\"\n")
			}
			cfg, err := config.Parse("bench.toml", []byte(sb.String()))
			if err != nil {
				b.Fatal(err)
			}
			g, err := gateway.New(cfg, gatewaytest.Logger(b))
			if err != nil {
				b.Fatal(err)
			}
			req, fc := benchRequest()
			req.SetRequestURI("/v1/res" + strconv.Itoa(last) + "/42/orders")
			b.ReportAllocs()
			for b.Loop() {
				serveOnce(b, g, req, fc)
			}
		})
	}
}
