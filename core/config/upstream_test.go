package config

import (
	"strings"
	"testing"
)

func TestUpstreamKeysDefaults(t *testing.T) {
	cfg, err := Parse("m.toml", []byte(`
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:1" }]
[[routes]]
upstream = "u"
`))
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.Upstreams[0]
	if u.WhenAllDown != "panic" || u.HashOn != "ip" || u.StreamThreshold != 1<<20 ||
		u.Outlier.ConsecutiveFailures != 5 || u.Retries.Attempts != 0 || u.Retries.ConnectAttempts != 2 || u.Retries.Budget != 20 ||
		u.Health.Path != "" || u.Sticky.Cookie != "moongate_sticky" || cfg.Server.BufferBodySize != 1<<20 {
		t.Fatalf("unexpected defaults: %+v", u)
	}
	if r := cfg.Routes[0]; r.WebSocket || r.Retries != nil {
		t.Fatalf("unexpected route defaults: %+v", r)
	}
}

func TestUpstreamKeysProblems(t *testing.T) {
	cases := []struct {
		name, toml, want string
	}{
		{"hash_on", `hash_on = "moon"`, `m.toml:5: upstreams[0].hash_on: must be one of "ip", "header", "cookie", "path", "consumer", got "moon"`},
		{"hash_key", `hash_on = "header"`, `m.toml:5: upstreams[0].hash_on: "header" needs hash_key, the header's name`},
		{"when_all_down", `when_all_down = "retry"`, `m.toml:5: upstreams[0].when_all_down: must be "panic" or "fail", got "retry"`},
		{"retries", "[upstreams.retries]\nattempts = 11", `m.toml:6: upstreams[0].retries.attempts: must be between 0 and 10, got 11`},
		{"connect_attempts", "[upstreams.retries]\nconnect_attempts = -1", `m.toml:6: upstreams[0].retries.connect_attempts: must be between 0 and 10, got -1`},
		{"statuses", "[upstreams.outlier]\nstatuses = [700]", `m.toml:6: upstreams[0].outlier.statuses[0]: must be an HTTP status between 100 and 599, got 700`},
		{"health path", "[upstreams.health]\npath = \"healthz\"", `m.toml:6: upstreams[0].health.path: must start with "/", got "healthz"`},
		{"ejection", "[upstreams.outlier]\nbase_ejection = \"1m\"\nmax_ejection = \"10s\"", `upstreams[0].outlier.max_ejection: must not be less than base_ejection (1m0s), got 10s`},
		{"unknown key", "[upstreams.health]\nintervall = \"1s\"", `upstreams[0].health.intervall: unknown key (did you mean "interval"?)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("m.toml", []byte(`
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:1" }]
`+tc.toml+`
[[routes]]
upstream = "u"
`))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRouteUpstreamKeysNeedUpstream(t *testing.T) {
	_, err := Parse("m.toml", []byte(`
[[routes]]
paths = ["/ws"]
websocket = true
`))
	if err == nil || !strings.Contains(err.Error(), "routes[0].upstream: is required by the route's upstream settings") {
		t.Fatalf("got %v", err)
	}
}
