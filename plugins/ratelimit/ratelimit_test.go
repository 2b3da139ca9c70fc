package ratelimit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/core/ratelimit"
	_ "github.com/moongate/moongate/plugins/mock"
)

// TestRefusesPastTheLimit: per client IP, the limit passes exactly its
// requests, then answers 429 with the gateway's JSON error and
// Retry-After, without calling the upstream; another IP has its own
// count. Every response carries the RateLimit fields.
func TestRefusesPastTheLimit(t *testing.T) {
	ch, up := mustChain(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 3, per = "1h" }, { requests = 100, per = "1m" }]
  key = "ip"
`)
	for i := 1; i <= 3; i++ {
		r := serve(t, ch, "192.0.2.1:1000", nil)
		if r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		wantPolicy := `"3600s";q=3;w=3600, "60s";q=100;w=60`
		if r.headers["Ratelimit-Policy"] != wantPolicy || !strings.HasPrefix(r.headers["Ratelimit"], `"3600s";r=`+string(rune('0'+3-i))+";t=") {
			t.Errorf("request %d headers: %v", i, r.headers)
		}
		if _, ok := r.headers["Retry-After"]; ok {
			t.Errorf("request %d: Retry-After on a request that passed", i)
		}
	}
	r := serve(t, ch, "192.0.2.1:1001", nil)
	var body struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != 429 || body.Status != 429 || body.Error != "rate limit exceeded" {
		t.Fatalf("4th request: %d %s (%v)", r.status, r.body, err)
	}
	if ra := r.headers["Retry-After"]; ra == "" || ra == "0" || r.headers["Ratelimit"] == "" || r.headers["Content-Type"] != "application/json" {
		t.Errorf("429 headers: %v", r.headers)
	}
	if up.hits.Load() != 3 {
		t.Errorf("upstream got %d requests, want 3", up.hits.Load())
	}
	if r := serve(t, ch, "192.0.2.2:1000", nil); r.status != 200 {
		t.Errorf("another IP: %d", r.status)
	}
}

// TestHeaderModes: legacy fields describe the window closest to refusing;
// "none" writes nothing but Retry-After on a refusal.
func TestHeaderModes(t *testing.T) {
	ch, _ := mustChain(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 100, per = "1h" }, { requests = 2, per = "1m" }]
  key = "ip"
  headers = "legacy"
`)
	r := serve(t, ch, "192.0.2.1:1000", nil)
	if r.headers["Ratelimit-Limit"] != "2" || r.headers["Ratelimit-Remaining"] != "1" || r.headers["Ratelimit-Reset"] == "" ||
		r.headers["Ratelimit"] != "" || r.headers["Ratelimit-Policy"] != "" {
		t.Errorf("legacy: %v", r.headers)
	}

	ch, _ = mustChain(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 1, per = "1h" }]
  key = "ip"
  headers = "none"
`)
	if r := serve(t, ch, "192.0.2.1:1000", nil); r.status != 200 || len(r.headers) != 1 /* Content-Type */ {
		t.Errorf("none, passed: %d %v", r.status, r.headers)
	}
	if r := serve(t, ch, "192.0.2.1:1000", nil); r.status != 429 || r.headers["Retry-After"] == "" || r.headers["Ratelimit"] != "" {
		t.Errorf("none, refused: %d %v", r.status, r.headers)
	}
}

// TestMissingKey: without a consumer, "anonymous" counts every such
// request under one shared key; "pass" lets them through uncounted and
// without header fields. Consumers keep their own counts.
func TestMissingKey(t *testing.T) {
	steps := `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 2, per = "1h" }]
`
	ch, _ := mustChain(t, steps)
	for i, addr := range []string{"192.0.2.1:1", "192.0.2.2:1", "192.0.2.3:1"} {
		want := 200
		if i == 2 {
			want = 429
		}
		if r := serve(t, ch, addr, nil); r.status != want {
			t.Errorf("anonymous request %d: %d, want %d", i+1, r.status, want)
		}
	}
	alice := func(c *plugin.Context) { c.Consumer = &consumer.Consumer{Name: "alice"} }
	if r := serve(t, ch, "192.0.2.1:1", alice); r.status != 200 {
		t.Errorf("alice: %d", r.status)
	}

	ch, up := mustChain(t, steps+`  missing_key = "pass"`+"\n")
	for i := 0; i < 5; i++ {
		if r := serve(t, ch, "192.0.2.1:1", nil); r.status != 200 || r.headers["Ratelimit"] != "" {
			t.Errorf("pass %d: %d %v", i, r.status, r.headers)
		}
	}
	serve(t, ch, "192.0.2.1:1", alice)
	serve(t, ch, "192.0.2.1:1", alice)
	if r := serve(t, ch, "192.0.2.1:1", alice); r.status != 429 {
		t.Errorf("alice's third: %d", r.status)
	}
	if up.hits.Load() != 7 {
		t.Errorf("upstream hits %d, want 7", up.hits.Load())
	}
}

// TestGCRABurst: a token bucket passes its burst at once, then refuses.
func TestGCRABurst(t *testing.T) {
	ch, _ := mustChain(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 1, per = "1h" }]
  algorithm = "gcra"
  burst = 4
  key = "header:X-Tenant"
`)
	for i := 1; i <= 5; i++ {
		want := 200
		if i == 5 {
			want = 429
		}
		if r := serve(t, ch, "192.0.2.1:1", nil, "X-Tenant", "acme"); r.status != want {
			t.Errorf("request %d: %d, want %d", i, r.status, want)
		}
	}
	if r := serve(t, ch, "192.0.2.1:1", nil, "X-Tenant", "other"); r.status != 200 {
		t.Errorf("another tenant: %d", r.status)
	}
}

// TestHeadersOnEveryResponse: responses the limit did not make (a later
// step's answer, the upstream's) get the fields too.
func TestHeadersOnEveryResponse(t *testing.T) {
	ch, _ := mustChain(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 10, per = "1m" }]
  key = "route"
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  status = 418
  body = "teapot"
`)
	r := serve(t, ch, "192.0.2.1:1", nil)
	if r.status != 418 || !strings.HasPrefix(r.headers["Ratelimit"], `"60s";r=9;t=`) || r.headers["Ratelimit-Policy"] != `"60s";q=10;w=60` {
		t.Errorf("got %d %v", r.status, r.headers)
	}
}

// TestConfigProblems: every mistake is reported at once, at its line and
// key, the way moongate validate prints it.
func TestConfigProblems(t *testing.T) {
	_, _, err := chainOf(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 0, per = "1m" }, { requests = 5, per = "0s", burst = 3 }]
  key = ["consumer", "cookie:sid"]
  missing_key = "skip"
  headers = "x-ratelimit"
  algorithm = "leaky"
  max_keys = 0
  nodes = 3
`)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"test.toml:8: routes[0].plugins[0].config.limits[0].requests: must be between 1 and",
		`test.toml:8: routes[0].plugins[0].config.limits[1].per: must be at least "1ms"`,
		`routes[0].plugins[0].config.key: [1]: unknown kind "cookie"`,
		`routes[0].plugins[0].config.missing_key: must be "anonymous" or "pass", got "skip"`,
		`routes[0].plugins[0].config.headers: must be "draft", "legacy" or "none"`,
		`routes[0].plugins[0].config.algorithm: must be "sliding-window" or "gcra", got "leaky"`,
		"routes[0].plugins[0].config.max_keys: must be at least 1",
		`routes[0].plugins[0].config.nodes: applies to policy = "redis" only`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}

	_, _, err = chainOf(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 5, per = "1m" }]
  policy = "redis"
`)
	if err == nil || !strings.Contains(err.Error(), `test.toml:9: routes[0].plugins[0].config.policy: "redis" needs a [redis] section`) {
		t.Errorf("policy = redis without [redis]: %v", err)
	}
	_, _, err = chainOf(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limits = [{ requests = 5, per = "1m" }]
  burst = 2
`)
	if err == nil || !strings.Contains(err.Error(), `config.burst: applies to algorithm = "gcra" only`) {
		t.Errorf("burst with sliding-window: %v", err)
	}
	_, _, err = chainOf(t, `
  [[routes.plugins]]
  name = "rate-limit"
  [routes.plugins.config]
  limts = []
`)
	if err == nil || !strings.Contains(err.Error(), `config.limts: unknown key (did you mean "limits"?)`) {
		t.Errorf("typo: %v", err)
	}
}

// TestNamedLimitProblems: an entry of [[rate_limits]] is checked like a
// step's counting keys, at its own line and key; the keys only a step
// has (who is counted, what a refusal says) are unknown there; names are
// required and unique.
func TestNamedLimitProblems(t *testing.T) {
	build := func(src string) error {
		cfg, err := config.Parse("test.toml", []byte(src+"\n[[routes]]\nname = \"api\"\npaths = [\"/\"]\n"))
		if err != nil {
			return err
		}
		ch, err := plugintest.NewChain(plugintest.Options{Config: cfg, Route: "api", Upstream: &upstream{}})
		if err == nil {
			ch.Close()
		}
		return err
	}
	err := build(`
[[rate_limits]]
name = "a"
limits = [{ requests = 5, per = "1m" }]
key = "ip"
`)
	if err == nil || !strings.Contains(err.Error(), `test.toml:5: rate_limits[0].key: unknown key`) {
		t.Errorf("a step's key in a named limit: %v", err)
	}
	err = build(`
[[rate_limits]]
name = "a"
limits = [{ requests = 0, per = "1m" }]
nodes = 2
`)
	for _, want := range []string{
		"test.toml:4: rate_limits[0].limits[0].requests: must be between 1 and",
		`test.toml:5: rate_limits[0].nodes: applies to policy = "redis" only`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	err = build(`
[[rate_limits]]
name = "a"
limits = [{ requests = 5, per = "1m" }]
policy = "redis"
`)
	if err == nil || !strings.Contains(err.Error(), `test.toml:5: rate_limits[0].policy: "redis" needs a [redis] section`) {
		t.Errorf("policy = redis without [redis]: %v", err)
	}
	_, err = config.Parse("test.toml", []byte(`
[[rate_limits]]
limits = [{ requests = 5, per = "1m" }]
[[rate_limits]]
name = "b"
limits = [{ requests = 5, per = "1m" }]
[[rate_limits]]
name = "b"
limits = [{ requests = 5, per = "1m" }]
[[rate_limits]]
name = "c d"
limits = [{ requests = 5, per = "1m" }]
`))
	for _, want := range []string{
		"rate_limits[0].name: is required",
		`rate_limits[2].name: duplicate rate limit name "b"`,
		`rate_limits[3].name: must be a token`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if err := build(`
[[rate_limits]]
name = "ok"
limits = [{ requests = 5, per = "1m", burst = 8 }]
algorithm = "gcra"
`); err != nil {
		t.Errorf("a valid entry: %v", err)
	}
}

// The RateLimit-Policy value is formatted once per set of windows, and
// again when they change (a limit divided by a new node count).
func TestPolicyValueFollowsTheWindows(t *testing.T) {
	p := &Plugin{}
	res := func(limit int64) *ratelimit.Result {
		return &ratelimit.Result{Allowed: true, Windows: []ratelimit.WindowState{
			{Name: "60s", Limit: limit, Window: time.Minute, Remaining: 3},
			{Name: "1s", Limit: 5, Window: time.Second, Remaining: 1},
		}}
	}
	for _, c := range []struct {
		limit int64
		want  string
	}{{100, `"60s";q=100;w=60, "1s";q=5;w=1`}, {100, `"60s";q=100;w=60, "1s";q=5;w=1`}, {50, `"60s";q=50;w=60, "1s";q=5;w=1`}} {
		if got := string(p.policyOf(res(c.limit))); got != c.want {
			t.Errorf("limit %d: %q, want %q", c.limit, got, c.want)
		}
	}
	if got := string(p.policyOf(&ratelimit.Result{Windows: res(50).Windows[:1]})); got != `"60s";q=50;w=60` {
		t.Errorf("one window: %q", got)
	}
}
