package authtest

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

const aliceKey = "alice-key-0123456789abcdef"

func keyAuthConfig(u *recorder, consumers string) string {
	return upstreamTOML(u) + consumers + `
[[routes]]
name = "admin"
paths = ["/admin/"]
upstream = "app"
  [[routes.plugins]]
  name = "key-auth"
  [routes.plugins.config]
  query = "apikey"
  [[routes.plugins]]
  name = "acl"
  [routes.plugins.config]
  allow = ["admins"]

[[routes]]
name = "public"
paths = ["/"]
upstream = "app"
`
}

const twoConsumers = `
[[consumers]]
name = "alice"
groups = ["admins", "ops"]
keys = ["` + aliceKey + `"]

[[consumers]]
name = "bob"
groups = ["users"]
keys = ["sha256:` + bobKeyHash + `"]
`

// bobKeyHash is the SHA-256 of "bob-key".
const bobKeyHash = "9b94dc1a51a38769f135edf04033ad7f2f487b6c25929be7a861cfc1ab10cf98"

func TestKeyAuthAndACL(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, keyAuthConfig(u, twoConsumers))

	cases := []struct {
		name    string
		url     string
		headers []string
		status  int
	}{
		{"no key", "/admin/x", nil, 401},
		{"wrong key", "/admin/x", []string{"X-API-Key", "nope"}, 401},
		{"empty key", "/admin/x", []string{"X-API-Key", ""}, 401},
		{"key prefix", "/admin/x", []string{"X-API-Key", aliceKey[:10]}, 401},
		{"alice header", "/admin/x", []string{"X-API-Key", aliceKey}, 200},
		{"alice query", "/admin/x?apikey=" + aliceKey + "&a=1", nil, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := u.Hits()
			status, body, resp := gatewaytest.Do(t, "GET", g.URL+tc.url, nil, tc.headers...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if status == 401 {
				if got := string(resp.Header.Peek("WWW-Authenticate")); got != `Key realm="moongate"` {
					t.Fatalf("WWW-Authenticate %q", got)
				}
				if u.Hits() != before {
					t.Fatal("upstream was called for a refused request")
				}
				noSecret(t, body, aliceKey)
			}
		})
	}
	// The query key never reaches the upstream; the other args do.
	s := u.last(t)
	if strings.Contains(s.URI, "apikey") || strings.Contains(s.URI, aliceKey) || !strings.Contains(s.URI, "a=1") {
		t.Fatalf("upstream URI %q: key not removed or other args lost", s.URI)
	}
	if got := s.header("X-Consumer-Name"); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("X-Consumer-Name %v", got)
	}
	if got := s.header("X-Consumer-Groups"); len(got) != 1 || got[0] != "admins,ops" {
		t.Fatalf("X-Consumer-Groups %v", got)
	}
	if got := s.header("X-Credential-Identifier"); len(got) != 1 || got[0] != "alice:key-auth:0" {
		t.Fatalf("X-Credential-Identifier %v", got)
	}
}

func TestACLDeniesOtherGroups(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, keyAuthConfig(u, twoConsumers))
	status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/admin/x", nil, "X-API-Key", "bob-key")
	if status != 403 || u.Hits() != 0 {
		t.Fatalf("bob on /admin/: status %d, hits %d: %s", status, u.Hits(), body)
	}
	status, _, _ = gatewaytest.Do(t, "GET", g.URL+"/other", nil, "X-API-Key", "bob-key")
	if status != 200 {
		t.Fatalf("public route: status %d", status)
	}
}

// Spoofed identity headers from the client never reach the upstream: not
// as sent, not in another case, not with underscores.
func TestSpoofedIdentityHeadersRemoved(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, keyAuthConfig(u, twoConsumers))
	status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/admin/x", nil,
		"X-API-Key", aliceKey,
		"X-Consumer-Name", "root",
		"x-consumer-name", "root2",
		"X_Consumer_Name", "root3",
		"x_consumer-groups", "superusers",
		"X-CREDENTIAL-IDENTIFIER", "forged",
		"X-Anonymous-Consumer", "false")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	s := u.last(t)
	for k, v := range s.Headers {
		norm := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
		switch norm {
		case "x-consumer-name":
			if len(v) != 1 || v[0] != "alice" {
				t.Fatalf("%s: %v", k, v)
			}
		case "x-consumer-groups":
			if len(v) != 1 || v[0] != "admins,ops" {
				t.Fatalf("%s: %v", k, v)
			}
		case "x-credential-identifier":
			if len(v) != 1 || v[0] != "alice:key-auth:0" {
				t.Fatalf("%s: %v", k, v)
			}
		case "x-anonymous-consumer":
			t.Fatalf("%s reached the upstream: %v", k, v)
		}
	}
}

// A consumer deleted from the file stops working with the reload that
// removes it, and a consumer added starts working.
func TestDeletedConsumerRefusedAfterReload(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, keyAuthConfig(u, twoConsumers))
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/admin/x", nil, "X-API-Key", aliceKey); status != 200 {
		t.Fatalf("before reload: %d %s", status, body)
	}
	g.Rewrite(t, keyAuthConfig(u, `
[[consumers]]
name = "carol"
groups = ["admins"]
keys = ["carol-key"]
`))
	if res := g.Reload(); !res.OK {
		t.Fatalf("reload: %v", res.Messages)
	}
	hits := u.Hits()
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/admin/x", nil, "X-API-Key", aliceKey); status != 401 {
		t.Fatalf("deleted consumer: status %d, want 401: %s", status, body)
	}
	if u.Hits() != hits {
		t.Fatal("upstream called for a deleted consumer")
	}
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/admin/x", nil, "X-API-Key", "carol-key"); status != 200 {
		t.Fatalf("added consumer: status %d: %s", status, body)
	}
}

// Identity headers sent by a client are removed on every route, also on
// routes without an auth step: otherwise such a route would let a client
// claim an identity to an upstream it shares with protected routes.
func TestIdentityHeadersRemovedOnRoutesWithoutAuth(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "u"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/open/"]
upstream = "u"
`)
	status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/open/x", nil,
		"X-Consumer-Name", "root", "X_Consumer_Groups", "admins", "X-Credential-Identifier", "forged",
		"X-Anonymous-Consumer", "false", "X-Unrelated", "kept")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	s := u.last(t)
	for k, v := range s.Headers {
		switch strings.ToLower(strings.ReplaceAll(k, "_", "-")) {
		case "x-consumer-name", "x-consumer-groups", "x-credential-identifier", "x-anonymous-consumer":
			t.Errorf("%s reached the upstream: %v", k, v)
		}
	}
	if got := s.Headers["X-Unrelated"]; len(got) != 1 || got[0] != "kept" {
		t.Errorf("X-Unrelated = %v", got)
	}
}

// Two auth steps in one chain: the second consumer's identity replaces the
// first's whole, groups included (carol has none: alice's must not stay).
func TestSecondAuthStepReplacesIdentity(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, upstreamTOML(u)+`
[[consumers]]
name = "alice"
groups = ["admins"]
keys = ["`+aliceKey+`"]
[[consumers]]
name = "carol"
basic_auth = [{ username = "carol", password = "carol-pw" }]
[[routes]]
paths = ["/both"]
upstream = "app"
  [[routes.plugins]]
  name = "key-auth"
  [[routes.plugins]]
  name = "basic-auth"
`)
	status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/both", nil,
		"X-API-Key", aliceKey, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("carol:carol-pw")))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	h := u.last(t).Headers
	if got := h["X-Consumer-Name"]; len(got) != 1 || got[0] != "carol" {
		t.Errorf("X-Consumer-Name = %v, want [carol]", got)
	}
	if got, ok := h["X-Consumer-Groups"]; ok {
		t.Errorf("X-Consumer-Groups = %v: the first step's groups stayed", got)
	}
}
