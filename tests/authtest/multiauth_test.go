package authtest

import (
	"encoding/base64"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/multiauth"
)

func multiConfig(u *recorder, mode, anonymous string) string {
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
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  mode = "` + mode + `"
  anonymous = "` + anonymous + `"
    [[routes.plugins.config.steps]]
    name = "key-auth"
    [[routes.plugins.config.steps]]
    name = "basic-auth"
`
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestMultiAuth(t *testing.T) {
	cases := []struct {
		mode, anonymous string
		headers         []string
		status          int
		consumer        string
	}{
		{"any", "", []string{"X-API-Key", aliceKey}, 200, "alice"},
		{"any", "", []string{"Authorization", basic("bob", "builder")}, 200, "bob"},
		{"any", "", []string{"X-API-Key", "wrong", "Authorization", basic("bob", "builder")}, 200, "bob"},
		{"any", "", []string{"X-API-Key", "wrong"}, 401, ""},
		{"any", "", nil, 401, ""},
		{"any", "guest", nil, 200, "guest"},
		{"any", "guest", []string{"X-API-Key", "wrong"}, 401, ""},
		{"all", "", []string{"X-API-Key", aliceKey, "Authorization", basic("alice", "wonderland")}, 200, "alice"},
		{"all", "", []string{"X-API-Key", aliceKey}, 401, ""},
		{"all", "", []string{"X-API-Key", aliceKey, "Authorization", basic("bob", "builder")}, 401, ""},
		{"all", "", []string{"X-API-Key", aliceKey, "Authorization", basic("alice", "nope")}, 401, ""},
		{"all", "guest", nil, 200, "guest"},
		{"all", "guest", []string{"X-API-Key", aliceKey}, 401, ""},
	}
	for _, tc := range cases {
		name := tc.mode + "/" + tc.anonymous + "/" + tc.consumer
		t.Run(name, func(t *testing.T) {
			u := startRecorder(t)
			g := gatewaytest.Start(t, multiConfig(u, tc.mode, tc.anonymous))
			status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/x", nil, append(tc.headers, "X-Anonymous-Consumer", "forged")...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if status == 401 {
				if n := len(resp.Header.PeekAll("WWW-Authenticate")); n != 2 {
					t.Fatalf("%d challenges, want one per method", n)
				}
				if u.Hits() != 0 {
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

func TestMultiAuthConfigErrors(t *testing.T) {
	u := startRecorder(t)
	bad := upstreamTOML(u) + `
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  mode = "some"
    [[routes.plugins.config.steps]]
    name = "acl"
`
	msg := configError(t, bad)
	for _, want := range []string{`routes[0].plugins[0].config.mode: must be "any" or "all"`} {
		if !contains(msg, want) {
			t.Fatalf("error %q lacks %q", msg, want)
		}
	}
	bad = upstreamTOML(u) + `
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "multi-auth"
    [[routes.plugins.config.steps]]
    name = "acl"
    [routes.plugins.config.steps.config]
    allow = ["x"]
`
	if msg := configError(t, bad); !contains(msg, `routes[0].plugins[0].config.steps[0].name: "acl" is not an authentication plugin`) {
		t.Fatalf("error %q", msg)
	}
}
