package lua_test

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// adminHits counts the calls of an admin endpoint that only these tests
// register: a script that reaches the admin API would make it count.
var adminHits atomic.Int64

func init() {
	plugin.HandleAdmin("GET", "/lua-test-hits", func(r *plugin.AdminRequest) {
		adminHits.Add(1)
		r.JSON(200, map[string]string{"reached": "the admin API"})
	})
}

// fetchScript calls whatever URL the request names in X-Target, as a
// script with an SSRF bug would, and answers with what it got.
const fetchScript = `return { on_request = function()
  local res, err = gw.http.request{ url = gw.request.get_header("X-Target"), timeout = 2 }
  if not res then return gw.response.exit(502, { error = err }) end
  return gw.response.exit(200, { status = res.status, body = res.body })
end }`

// startFetcher starts a gateway whose route runs fetchScript, with lua
// settings extra, and its log captured.
func startFetcher(t *testing.T, extra string) (*gatewaytest.Gateway, *syncBuffer) {
	t.Helper()
	dir := writeScripts(t, map[string]string{"fetch.lua": fetchScript})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {})
	return startGateway(t, fmt.Sprintf(`
[lua]
timeout = "5s"
%s
[[upstreams]]
name = "u"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "u"
  [[routes.plugins]]
  script = %q
`, extra, up.URL, filepath.Join(dir, "fetch.lua")))
}

// fetch asks the gateway's script to call target and returns the status
// of the gateway's answer and what the script got: the called service's
// body, or gw.http's error.
func fetch(t *testing.T, g *gatewaytest.Gateway, target string) (int, string) {
	t.Helper()
	st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/", nil, "X-Target", target)
	var out struct {
		Error string `json:"error"`
		Body  string `json:"body"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: answer %d %s", target, st, body)
	}
	return st, out.Error + out.Body
}

// A script's gw.http call aimed at the admin API, by address or by a name
// resolving to it, is refused before any connection is made; the attempt
// is logged without its path or query.
func TestScriptCannotCallTheAdminAPI(t *testing.T) {
	g, logs := startFetcher(t, "")
	_, port, _ := net.SplitHostPort(g.AdminAddr())
	before := adminHits.Load()
	for _, target := range []string{
		"http://127.0.0.1:" + port + "/lua-test-hits",
		"http://localhost:" + port + "/lua-test-hits?token=s3cret-in-query",
		"http://0.0.0.0:" + port + "/lua-test-hits",
		"http://[::ffff:127.0.0.1]:" + port + "/lua-test-hits",
	} {
		st, got := fetch(t, g, target)
		if st != 502 || !strings.Contains(got, "refused: it is the admin API") {
			t.Errorf("%s: %d %q, want 502 and the refusal", target, st, got)
		}
	}
	if n := adminHits.Load() - before; n != 0 {
		t.Errorf("the admin endpoint was called %d times by scripts", n)
	}
	// The same endpoint answers a direct call: the refusal is gw.http's.
	if st, body, _ := gatewaytest.Do(t, "GET", g.AdminURL+"/lua-test-hits", nil); st != 200 || adminHits.Load() != before+1 {
		t.Fatalf("direct call: %d %s", st, body)
	}
	all := logs.String()
	if !strings.Contains(all, `msg="gw.http call refused"`) || !strings.Contains(all, `call="GET localhost:`+port+`"`) ||
		!strings.Contains(all, `reason="it is the admin API"`) || strings.Contains(all, "s3cret") || strings.Contains(all, "lua-test-hits") {
		t.Errorf("log:\n%s", all)
	}
}

// Cloud metadata and other link-local addresses are refused by default,
// and no connection is attempted (the refusal names the rule, which a
// timeout or a refused connection would not).
func TestScriptCannotCallMetadataAddresses(t *testing.T) {
	g, _ := startFetcher(t, "")
	for _, target := range []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://169.254.170.2/v2/credentials",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://[fe80::1]:8080/",
		"http://[::ffff:169.254.169.254]/",
	} {
		st, got := fetch(t, g, target)
		if st != 502 || !strings.Contains(got, "refused: lua.http_deny covers it") {
			t.Errorf("%s: %d %q, want 502 and the refusal", target, st, got)
		}
	}
}

// Loopback services stay reachable by default (scripts/ext_auth.lua calls
// one); lua.http_deny refuses them on the resolved address, names
// included, and lua.http_allow makes exceptions.
func TestScriptHTTPDenyAndAllow(t *testing.T) {
	svc := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("service") })
	_, port, _ := net.SplitHostPort(svc.Addr)

	g, _ := startFetcher(t, "")
	for _, target := range []string{svc.URL + "/", "http://localhost:" + port + "/"} {
		if st, got := fetch(t, g, target); st != 200 || got != "service" {
			t.Errorf("default policy, %s: %d %q", target, st, got)
		}
	}

	hits := svc.Hits()
	g, _ = startFetcher(t, `http_deny = ["127.0.0.0/8", "::1"]`)
	for _, target := range []string{svc.URL + "/", "http://localhost:" + port + "/"} {
		if st, got := fetch(t, g, target); st != 502 || !strings.Contains(got, "refused: lua.http_deny covers it") {
			t.Errorf("loopback denied, %s: %d %q", target, st, got)
		}
	}
	if svc.Hits() != hits {
		t.Errorf("the denied service was called %d times", svc.Hits()-hits)
	}

	g, _ = startFetcher(t, `http_deny = ["127.0.0.0/8"]
http_allow = ["127.0.0.1"]`)
	if st, got := fetch(t, g, "http://localhost:"+port+"/"); st != 200 || got != "service" {
		t.Errorf("allowed exception: %d %q", st, got)
	}
	// http_allow cannot open the admin API.
	_, adminPort, _ := net.SplitHostPort(g.AdminAddr())
	if st, got := fetch(t, g, "http://127.0.0.1:"+adminPort+"/lua-test-hits"); st != 502 || !strings.Contains(got, "admin API") {
		t.Errorf("admin API with http_allow: %d %q", st, got)
	}
}
