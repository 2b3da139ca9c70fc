package aiproxy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/plugins/aiproxy/usage"
	"github.com/valyala/fasthttp"
)

// build builds an ai-proxy step from the TOML of its config table and
// returns the problems, one per line.
func build(t *testing.T, table string) (*plugintest.Chain, string) {
	t.Helper()
	cfg, err := config.Parse("moongate.toml", []byte(`
[[routes]]
name = "ai"
paths = ["/v1/"]
  [[routes.plugins]]
  name = "ai-proxy"
  [routes.plugins.config]
`+table))
	if err != nil {
		return nil, err.Error()
	}
	ch, err := plugintest.NewChain(plugintest.Options{Config: cfg, Route: "ai", Steps: cfg.Routes[0].Plugins})
	if err != nil {
		return nil, err.Error()
	}
	t.Cleanup(func() { ch.Close() })
	return ch, ""
}

const okProviders = `
    [[routes.plugins.config.providers]]
    name = "openai"
    type = "openai"
    keys = ["sk-test-key-0001", { key = "sk-test-key-0002", label = "backup" }]

    [[routes.plugins.config.models]]
    name = "gpt-4o"
    targets = [{ provider = "openai" }]
`

// Every problem of the table is reported at once, at its key and line,
// and never shows a key.
func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name, table string
		want        []string
	}{
		{"empty", ``, []string{"config.providers: needs at least one provider", "config.models: needs at least one model"}},
		{"provider", `
    [[routes.plugins.config.providers]]
    name = "x"
    type = "openia"
    base_url = "ftp://example.com"
    keys = []
    first_byte_timeout = "0s"
    headers = { "Authorization" = "Bearer sk-leak-leak-leak" }
    deployments = { "gpt" = "d" }

    [[routes.plugins.config.providers]]
    name = "x"
    type = "azure-openai"
    base_url = "https://res.openai.azure.com"
    keys = ["k-1234567890"]

    [[routes.plugins.config.models]]
    name = "m"
    targets = [{ provider = "y", weight = 0 }]
`, []string{
			`providers[0].type: unknown provider type "openia" (did you mean "openai"?)`,
			`providers[0].base_url: must be an http:// or https:// URL`,
			`providers[0].first_byte_timeout: must be more than 0s`,
			`providers[0].headers: "Authorization" is set by the gateway and cannot be configured`,
			`providers[0].deployments: are for azure-openai providers only`,
			`providers[1].name: provider "x" is already defined at providers[0]`,
			`providers[1].api_version: is required for azure-openai`,
			`models[0].targets[0].provider: unknown provider "y"`,
			`models[0].targets[0].weight: must be between 1 and 1000, got 0`,
		}},
		{"keys", `
    [[routes.plugins.config.providers]]
    name = "a"
    type = "anthropic"
    keys = ["file:/nonexistent/key", { key = "sk-ant-zzzzzzzzzzzz", label = "x y" }, ""]

    [[routes.plugins.config.models]]
    name = "c"
    targets = [{ provider = "a" }]
`, []string{
			`providers[0].keys[0]: cannot read secret file "/nonexistent/key"`,
			`providers[0].keys[1].label: must be printable ASCII without spaces`,
			`providers[0].keys[2]: is empty`,
		}},
		{"key table", `
    [[routes.plugins.config.providers]]
    name = "a"
    type = "anthropic"
    keys = [{ key = "sk-ant-zzzzzzzzzzzz", lable = "x" }]
`, []string{`providers[0].keys[0]: unknown key "lable" in a provider key (known: key, label)`}},
		{"models and the rest", okProviders + `
    [[routes.plugins.config.models]]
    name = "gpt-4o"
    aliases = ["x", "x"]
    targets = []

    [routes.plugins.config.prices]
    "gpt-4o" = { input = -1.0 }

    [routes.plugins.config.limits]
    tokens_per_minute = -5
    by = "team"
    policy = "redis"

    [routes.plugins.config.cache]
    ttl = "0s"
`, []string{
			`models[1].name: model "gpt-4o" is already defined at models[0].name`,
			`models[1].aliases[1]: model "x" is already defined at models[1].aliases[0]`,
			`models[1].targets: needs at least one target`,
			`prices.gpt-4o.input: must be a price`,
			`limits.tokens_per_minute: must be between 0`,
			`limits.by: must be "consumer" or "credential", got "team"`,
			`limits.policy: "redis" needs a [redis] section (the Redis to share the token budgets in), and there is none`,
			`cache.ttl: must be more than 0s`,
		}},
		{"redis keys", okProviders + `
    [routes.plugins.config.limits]
    tokens_per_minute = 5
    redis_timeout = "20s"
    on_redis_error = "ignore"
    nodes = 0
`, []string{
			`limits.redis_timeout: applies to policy = "redis" only`,
			`limits.redis_timeout: must be between "0s" (the default, 50ms) and "10s", got "20s"`,
			`limits.on_redis_error: must be "local", "allow" or "deny", got "ignore"`,
			`limits.nodes: must be between 1 and 10000, got 0`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := build(t, tc.table)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing problem %q in:\n%s", w, got)
				}
			}
			if !strings.Contains(got, "moongate.toml:") {
				t.Errorf("problems without a position:\n%s", got)
			}
			for _, secret := range []string{"sk-leak", "sk-ant-zzz", "k-1234567890", "sk-test"} {
				if strings.Contains(got, secret) {
					t.Errorf("a problem shows a key (%s):\n%s", secret, got)
				}
			}
		})
	}
	if _, got := build(t, okProviders); got != "" {
		t.Fatalf("a valid table: %s", got)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "anything", true},
		{"claude-*", "claude-sonnet-4-5", true}, {"claude-*", "claude-", true}, {"claude-*", "gpt-4o", false},
		{"*-mini", "gpt-4o-mini", true}, {"*-mini", "gpt-4o", false},
		{"gpt-*-mini", "gpt-4o-mini", true}, {"gpt-*-mini", "gpt--mini", true}, {"gpt-*-mini", "gpt-4o-mini-x", false},
		{"a*b*c", "aXbYbZc", true}, {"a*b*c", "aXbYbZ", false}, {"exact", "exact", true}, {"exact", "exac", false},
	} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// The reset times providers send with a 429.
func TestResetAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"retry-after seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"retry-after-ms first", map[string]string{"Retry-After-Ms": "1500", "Retry-After": "7"}, 1500 * time.Millisecond},
		{"retry-after date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"openai resets, the latest", map[string]string{"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}, 6 * time.Minute},
		{"anthropic resets", map[string]string{"anthropic-ratelimit-tokens-reset": now.Add(42 * time.Second).Format(time.RFC3339)}, 42 * time.Second},
		{"nothing", map[string]string{"x-other": "1"}, 0},
		{"garbage", map[string]string{"Retry-After": "soon", "x-ratelimit-reset-tokens": "tomorrow"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h fasthttp.ResponseHeader
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			if got := resetAfter(&h, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// The pool spreads requests over the keys, skips resting and disabled
// ones, and says when the first resting key is back.
func TestKeyPool(t *testing.T) {
	var keys []Key
	for _, v := range []string{"k0-secret", "k1-secret", "k2-secret"} {
		var k Key
		if err := k.DecodeConfig(v); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	kp := newKeyPool("p", keys)
	now := time.Now()
	seen := map[int]int{}
	for i := 0; i < 30; i++ {
		k, _, ok := kp.pick(0, now)
		if !ok {
			t.Fatal("no key")
		}
		seen[k.index]++
	}
	if seen[0] != 10 || seen[1] != 10 || seen[2] != 10 {
		t.Fatalf("spread %v, want 10 each", seen)
	}
	kp.keys[0].rest(30*time.Second, now)
	kp.keys[1].disable(401, now)
	for i := 0; i < 5; i++ {
		if k, _, _ := kp.pick(0, now); k.index != 2 {
			t.Fatalf("picked key %d, want the only usable one", k.index)
		}
	}
	if _, wait, ok := kp.pick(1<<2, now); ok || wait != 30*time.Second {
		t.Fatalf("with key 2 tried: ok %v wait %v, want none for 30s", ok, wait)
	}
	if k, _, ok := kp.pick(1<<2, now.Add(31*time.Second)); !ok || k.index != 0 {
		t.Fatal("the rested key is not back after its reset")
	}
	st := kp.keys[1].state(now)
	if st.State != "disabled" || st.DisabledBy != 401 {
		t.Fatalf("state %+v", st)
	}
	if s := kp.keys[0].name() + kp.keys[1].name(); strings.Contains(s, "secret") {
		t.Fatalf("key names show the key: %s", s)
	}
	if k, _, ok := newKeyPool("none", nil).pick(0, now); !ok || k != nil {
		t.Fatal("a pool without keys must let requests through without a key")
	}
}

func TestCost(t *testing.T) {
	pr := newPrices(map[string]Price{"m": {Input: 2.5, Output: 10, CachedInput: 1.25}})["m"]
	// 1000 prompt tokens of which 400 cached, 500 completion:
	// 600×2.5 + 400×1.25 + 500×10 = 7000 USD per million = 7000 nano-USD... ×1000.
	got := costOf(pr, usageTokens(1000, 400, 500))
	if got != 7_000_000 {
		t.Fatalf("cost %d nano-USD, want 7000000 (0.007 USD)", got)
	}
	if costOf(price{}, usageTokens(10, 0, 10)) != 0 {
		t.Fatal("no price, no cost")
	}
}

func TestIsZeroNumber(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "0.0": true, "-0": true, "0e5": true, "0.000": true,
		"0.1": false, "1": false, "1e-9": false, "null": false, `"0"`: false, "": false} {
		if got := isZeroNumber([]byte(s)); got != want {
			t.Errorf("isZeroNumber(%s) = %v", s, got)
		}
	}
}

func TestEndpointOf(t *testing.T) {
	for path, want := range map[string]endpoint{
		"/v1/chat/completions": epChat, "/openai/v1/chat/completions": epChat, "/chat/completions": epChat,
		"/v1/messages": epMessages, "/anthropic/v1/messages": epMessages, "/v1/embeddings": epEmbeddings,
		"/v1/models": epModels, "/v1/completions": epNone, "/v1/chat/completions/": epNone, "/v1/messages/count_tokens": epNone,
	} {
		if got := endpointOf([]byte(path)); got != want {
			t.Errorf("endpointOf(%s) = %v, want %v", path, got, want)
		}
	}
}

func usageTokens(prompt, cached, completion int64) usage.Tokens {
	return usage.Tokens{Prompt: prompt, CachedPrompt: cached, Completion: completion, Total: prompt + completion}
}
