package authtest

import (
	"encoding/base64"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/multiauth"
)

// multiConfig has two routes: /any/ (mode any, anonymous guest) and
// /all/ (mode all). The table of modes and credentials is a unit test of
// plugins/multiauth; this is the end-to-end view.
func multiConfig(u *recorder) string {
	return upstreamTOML(u) + `
[[consumers]]
name = "alice"
groups = ["admins"]
keys = ["` + aliceKey + `"]
basic_auth = [{ username = "alice", password = "wonderland" }]

[[consumers]]
name = "bob"
keys = ["bob-key"]
basic_auth = [{ username = "bob", password = "builder" }]

[[consumers]]
name = "guest"
groups = ["guests"]

[[routes]]
paths = ["/any/"]
upstream = "app"
  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  mode = "any"
  anonymous = "guest"
    [[routes.plugins.config.steps]]
    name = "key-auth"
    [[routes.plugins.config.steps]]
    name = "basic-auth"

[[routes]]
paths = ["/all/"]
upstream = "app"
  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  mode = "all"
    [[routes.plugins.config.steps]]
    name = "key-auth"
    [[routes.plugins.config.steps]]
    name = "basic-auth"
`
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestMultiAuth: what the upstream gets through a real gateway, with a
// client that forges the anonymous flag.
func TestMultiAuth(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, multiConfig(u))
	cases := []struct {
		name, path string
		headers    []string
		status     int
		consumer   string
	}{
		{"any: a key", "/any/x", []string{"X-API-Key", aliceKey}, 200, "alice"},
		{"any: nothing, anonymous", "/any/x", nil, 200, "guest"},
		{"any: a wrong key", "/any/x", []string{"X-API-Key", "wrong"}, 401, ""},
		{"all: both", "/all/x", []string{"X-API-Key", aliceKey, "Authorization", basic("alice", "wonderland")}, 200, "alice"},
		{"all: two consumers", "/all/x", []string{"X-API-Key", aliceKey, "Authorization", basic("bob", "builder")}, 401, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hits := u.Hits()
			status, body, resp := gatewaytest.Do(t, "GET", g.URL+tc.path, nil, append(tc.headers, "X-Anonymous-Consumer", "forged")...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if status == 401 {
				if n := len(resp.Header.PeekAll("WWW-Authenticate")); n != 2 {
					t.Fatalf("%d challenges, want one per method", n)
				}
				if u.Hits() != hits {
					t.Fatal("upstream called")
				}
				return
			}
			s := u.last(t)
			if got := s.header("X-Consumer-Name"); len(got) != 1 || got[0] != tc.consumer {
				t.Fatalf("consumer %v, want %s", got, tc.consumer)
			}
			anon := s.header("X-Anonymous-Consumer")
			if tc.consumer == "guest" && (len(anon) != 1 || anon[0] != "true") || tc.consumer != "guest" && len(anon) != 0 {
				t.Fatalf("X-Anonymous-Consumer %v", anon)
			}
		})
	}
}
