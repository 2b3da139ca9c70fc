package jwt

import (
	"path/filepath"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

// stepConfig is the step of gatewayConfig as a global step, for unit
// tests through plugintest; extra are more keys of its table.
func stepConfig(k *testKeys, extra string) string {
	return `
[[consumers]]
name = "alice"
groups = ["admins"]
jwt_secrets = [{ key = "alice-iss", secret = "` + aliceSecret + `", algorithm = "HS256" }]

[[plugins]]
name = "jwt"
[plugins.config]
algorithms = ["HS256", "RS256", "ES256", "EdDSA"]
issuers = ["https://idp.test/", "alice-iss"]
audiences = ["orders"]
groups_claim = "roles"
claims_to_headers = { email = "X-User-Email" }
keys = [
  { kid = "r1", algorithm = "RS256", public_key = "file:` + k.rsaFile + `" },
  { kid = "e1", algorithm = "ES256", public_key = "file:` + filepath.Join(k.dir, "ec.pem") + `" },
  { kid = "d1", algorithm = "EdDSA", public_key = "file:` + filepath.Join(k.dir, "ed.pem") + `" },
]
` + extra
}

func TestValidTokens(t *testing.T) {
	k := getKeys(t)
	ch := plugintest.New(t, stepConfig(k, ""))
	cases := []struct {
		name, token, consumer, groups string
	}{
		{"RS256", sign(t, "RS256", "r1", k.rsa, claims(nil)), "svc-1", "reader,writer"},
		{"ES256", sign(t, "ES256", "e1", k.ec, claims(nil)), "svc-1", "reader,writer"},
		{"EdDSA", sign(t, "EdDSA", "d1", k.ed, claims(nil)), "svc-1", "reader,writer"},
		{"HS256 consumer key", sign(t, "HS256", "", []byte(aliceSecret), claims(map[string]any{"iss": "alice-iss"})), "alice", "admins"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 2; i++ { // the second time from the cache
				res := ch.Do(plugintest.Request{URL: "/api/x", Header: []string{"Authorization", "Bearer " + tc.token,
					"X-User-Email", "forged@example.com"}})
				if res.Status != 200 {
					t.Fatalf("try %d: status %d: %s", i, res.Status, res.Body)
				}
				if got := string(res.Sent.Header.Peek("X-Consumer-Name")); got != tc.consumer {
					t.Fatalf("X-Consumer-Name %q, want %q", got, tc.consumer)
				}
				if got := string(res.Sent.Header.Peek("X-Consumer-Groups")); got != tc.groups {
					t.Fatalf("X-Consumer-Groups %q, want %q", got, tc.groups)
				}
				if got := res.Sent.Header.PeekAll("X-User-Email"); len(got) != 1 || string(got[0]) != "svc@example.com" {
					t.Fatalf("X-User-Email %q: claim not mapped or client value kept", got)
				}
			}
		})
	}
}

// TestTokenInQueryAndCookie reads the token from a query argument (removed
// before forwarding) and from a cookie.
func TestTokenInQueryAndCookie(t *testing.T) {
	k := getKeys(t)
	ch := plugintest.New(t, stepConfig(k, `header = ""
query = "access_token"
cookie = "jwt"
`))
	tok := sign(t, "RS256", "r1", k.rsa, claims(nil))
	res := ch.Do(plugintest.Request{URL: "/api/x?a=1&access_token=" + tok})
	if res.Status != 200 {
		t.Fatalf("query: status %d: %s", res.Status, res.Body)
	}
	if uri := string(res.Sent.RequestURI()); uri != "/api/x?a=1" {
		t.Fatalf("query: upstream URI %q", uri)
	}
	if res := ch.Do(plugintest.Request{URL: "/api/y", Header: []string{"Cookie", "jwt=" + tok}}); res.Status != 200 {
		t.Fatalf("cookie: status %d: %s", res.Status, res.Body)
	}
	if res := ch.Do(plugintest.Request{URL: "/api/y", Header: []string{"Authorization", "Bearer " + tok}}); res.Status != 401 {
		t.Fatalf("header read although header = \"\": status %d", res.Status)
	}
}
