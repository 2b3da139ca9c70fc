package cors

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	_ "github.com/moongate/moongate/plugins/keyauth"
)

// apiChain is cors, then key-auth, in front of a careless upstream that
// allows everyone.
func apiChain(t *testing.T) *plugintest.Chain {
	ch := plugintest.New(t, `
[[consumers]]
name = "alice"
keys = ["alice-key"]
[[plugins]]
name = "cors"
[plugins.config]
origins = ["https://app.example.com", "http://localhost:3000"]
origin_patterns = ["https://*.tenants.example.com"]
methods = ["GET", "POST"]
headers = ["X-API-Key", "Content-Type"]
expose_headers = ["X-Request-Id"]
credentials = true
max_age = "5m"
[[plugins]]
name = "key-auth"
`)
	ch.SetUpstream(plugintest.Reply{Header: []string{"Access-Control-Allow-Origin", "*"}, Body: "ok"})
	return ch
}

func TestOriginLookAlikes(t *testing.T) {
	ch := apiChain(t)
	cases := []struct {
		origin string
		ok     bool
	}{
		{"https://app.example.com", true},
		{"http://localhost:3000", true},
		{"https://acme.tenants.example.com", true},
		{"https://app.example.com.evil.tld", false},
		{"https://app.example.comevil.tld", false},
		{"https://evil-app.example.com", false},
		{"https://evilapp.example.com", false},
		{"http://app.example.com", false},
		{"https://app.example.com:8443", false},
		{"https://app.example.com/", false},
		{"https://APP.example.com", false},
		{"null", false},
		{"https://a.b.tenants.example.com", false},
		{"https://.tenants.example.com", false},
		{"https://evil.tld/.tenants.example.com", false},
		{"https://evil.tld?.tenants.example.com", false},
		{"https://eviltenants.example.com", false},
		{"https://tenants.example.com", false},
		{"http://acme.tenants.example.com", false},
		{"https://acme.tenants.example.com.evil.tld", false},
		{"http://localhost:30000", false},
		{"*", false},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			res := ch.Do(plugintest.Request{Header: []string{"Origin", tc.origin, "X-API-Key", "alice-key"}})
			if res.Status != 200 {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			h := &res.Response.Header
			acao := string(h.Peek("Access-Control-Allow-Origin"))
			if tc.ok && (acao != tc.origin || string(h.Peek("Access-Control-Expose-Headers")) != "X-Request-Id" ||
				string(h.Peek("Access-Control-Allow-Credentials")) != "true") {
				t.Fatalf("allowed origin: ACAO %q, expose %q, credentials %q", acao,
					h.Peek("Access-Control-Expose-Headers"), h.Peek("Access-Control-Allow-Credentials"))
			}
			// The upstream's "*" never reaches a look-alike.
			if !tc.ok && (acao != "" || len(h.Peek("Access-Control-Allow-Credentials")) != 0) {
				t.Fatalf("look-alike allowed: ACAO %q", acao)
			}
			if !strings.Contains(string(h.Peek("Vary")), "Origin") {
				t.Fatalf("Vary %q lacks Origin", h.Peek("Vary"))
			}
		})
	}
	// A refusal by a later step still carries the CORS headers, so the
	// browser lets the page read the 401.
	res := ch.Do(plugintest.Request{Header: []string{"Origin", "https://app.example.com"}})
	if res.Status != 401 || string(res.Response.Header.Peek("Access-Control-Allow-Origin")) != "https://app.example.com" {
		t.Fatalf("401: status %d, ACAO %q", res.Status, res.Response.Header.Peek("Access-Control-Allow-Origin"))
	}
}

// A preflight is answered by the step: the later steps (key-auth, which
// would refuse it) and the upstream never see it.
func TestPreflightAnswers(t *testing.T) {
	ch := apiChain(t)
	res := ch.Do(plugintest.Request{Method: "OPTIONS", URL: "/orders", Header: []string{"Origin", "https://acme.tenants.example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"}})
	if res.Status != 204 || !res.Stopped {
		t.Fatalf("status %d, stopped %v: %s", res.Status, res.Stopped, res.Body)
	}
	if got := string(res.Response.Header.Peek("Access-Control-Allow-Methods")); got != "GET, POST" {
		t.Errorf("Allow-Methods %q", got)
	}
	if got := string(res.Response.Header.Peek("Access-Control-Max-Age")); got != "300" {
		t.Errorf("Max-Age %q", got)
	}
	// An OPTIONS request that is not a preflight is an ordinary request.
	res = ch.Do(plugintest.Request{Method: "OPTIONS", URL: "/orders", Header: []string{"X-API-Key", "alice-key"}})
	if res.Stopped || res.Status != 200 {
		t.Errorf("plain OPTIONS: status %d, stopped %v", res.Status, res.Stopped)
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`credentials = true`, "test.toml:3: plugins[0].config.origins: needs origins or origin_patterns"},
		{`origins = ["*"]
credentials = true`, `test.toml:4: plugins[0].config.origins[0]: "*" cannot be used with credentials = true: list the origins`},
		{`origins = ["https://app.example.com/path"]`, `test.toml:4: plugins[0].config.origins[0]: must be an origin such as "https://app.example.com"`},
		{`origin_patterns = ["https://*.com"]`, `test.toml:4: plugins[0].config.origin_patterns[0]: needs a domain of at least two labels after "*."`},
		{`origin_patterns = ["https://app.*.example.com"]`, `test.toml:4: plugins[0].config.origin_patterns[0]: must look like "https://*.example.com"`},
		{`origins = ["https://a.example.com"]
methods = ["get"]`, `test.toml:5: plugins[0].config.methods[0]: must be an upper-case method, got "get"`},
	} {
		_, err := plugintest.Build("[[plugins]]\nname = \"cors\"\n[plugins.config]\n" + tc.config + "\n")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.config, err, tc.want)
		}
	}
}
