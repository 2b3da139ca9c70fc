package multiauth

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	_ "github.com/moongate/moongate/plugins/acl"
	_ "github.com/moongate/moongate/plugins/basicauth"
	_ "github.com/moongate/moongate/plugins/keyauth"
)

const aliceKey = "alice-key-0123456789abcdef"

func chainFor(t *testing.T, mode, anonymous string) *plugintest.Chain {
	return plugintest.New(t, `
[[consumers]]
name = "alice"
groups = ["admins"]
keys = ["`+aliceKey+`"]
basic_auth = [{ username = "alice", password = "wonderland" }]

[[consumers]]
name = "bob"
keys = ["bob-key"]
basic_auth = [{ username = "bob", password = "builder" }]

[[consumers]]
name = "guest"
groups = ["guests"]

[[plugins]]
name = "multi-auth"
[plugins.config]
mode = "`+mode+`"
anonymous = "`+anonymous+`"
  [[plugins.config.steps]]
  name = "key-auth"
  [[plugins.config.steps]]
  name = "basic-auth"
`)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestModes(t *testing.T) {
	cases := []struct {
		name, mode, anonymous string
		headers               []string
		status                int
		consumer              string
	}{
		{"any: a key", "any", "", []string{"X-API-Key", aliceKey}, 200, "alice"},
		{"any: a password", "any", "", []string{"Authorization", basic("bob", "builder")}, 200, "bob"},
		{"any: a wrong key, then a password", "any", "", []string{"X-API-Key", "wrong", "Authorization", basic("bob", "builder")}, 200, "bob"},
		{"any: a wrong key only", "any", "", []string{"X-API-Key", "wrong"}, 401, ""},
		{"any: nothing", "any", "", nil, 401, ""},
		{"any: nothing, anonymous", "any", "guest", nil, 200, "guest"},
		{"any: a wrong key is not anonymous", "any", "guest", []string{"X-API-Key", "wrong"}, 401, ""},
		{"all: both, one consumer", "all", "", []string{"X-API-Key", aliceKey, "Authorization", basic("alice", "wonderland")}, 200, "alice"},
		{"all: one of two", "all", "", []string{"X-API-Key", aliceKey}, 401, ""},
		{"all: two consumers", "all", "", []string{"X-API-Key", aliceKey, "Authorization", basic("bob", "builder")}, 401, ""},
		{"all: a wrong password", "all", "", []string{"X-API-Key", aliceKey, "Authorization", basic("alice", "nope")}, 401, ""},
		{"all: nothing, anonymous", "all", "guest", nil, 200, "guest"},
		{"all: some credentials are not anonymous", "all", "guest", []string{"X-API-Key", aliceKey}, 401, ""},
	}
	chains := map[string]*plugintest.Chain{} // one per mode and anonymous, closed when the test ends
	for _, tc := range cases {
		ch := chains[tc.mode+"/"+tc.anonymous]
		if ch == nil {
			ch = chainFor(t, tc.mode, tc.anonymous)
			chains[tc.mode+"/"+tc.anonymous] = ch
		}
		t.Run(tc.name, func(t *testing.T) {
			res := ch.Do(plugintest.Request{Header: tc.headers})
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if tc.status == 401 {
				// One challenge per method, so a client learns every way in.
				if got := fmt.Sprintf("%q", res.Response.Header.PeekAll("WWW-Authenticate")); got != `["Key realm=\"moongate\"" "Basic realm=\"moongate\", charset=\"UTF-8\""]` {
					t.Fatalf("challenges %s", got)
				}
				if !res.Stopped || res.Consumer != nil {
					t.Fatal("a refused request went on")
				}
				if strings.Contains(res.Body, aliceKey) || strings.Contains(res.Body, "wonderland") {
					t.Fatalf("the answer shows a secret: %s", res.Body)
				}
				return
			}
			if res.Consumer == nil || res.Consumer.Name != tc.consumer {
				t.Fatalf("consumer %v, want %s", res.Consumer, tc.consumer)
			}
			if got := string(res.Sent.Header.Peek("X-Consumer-Name")); got != tc.consumer {
				t.Errorf("upstream X-Consumer-Name %q, want %q", got, tc.consumer)
			}
			anon := string(res.Sent.Header.Peek("X-Anonymous-Consumer"))
			if tc.consumer == "guest" && anon != "true" || tc.consumer != "guest" && anon != "" {
				t.Errorf("upstream X-Anonymous-Consumer %q", anon)
			}
		})
	}
}

// In "all" mode the first method's credential is the one sent upstream.
func TestAllKeepsTheFirstCredential(t *testing.T) {
	res := chainFor(t, "all", "").Do(plugintest.Request{Header: []string{"Authorization", basic("alice", "wonderland"), "X-API-Key", aliceKey}})
	if res.Status != 200 {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	if got := string(res.Sent.Header.Peek("X-Credential-Identifier")); got != "alice:key-auth:0" {
		t.Errorf("X-Credential-Identifier %q, want the key's", got)
	}
	if got := string(res.Sent.Header.Peek("X-Consumer-Groups")); got != "admins" {
		t.Errorf("X-Consumer-Groups %q", got)
	}
}

func TestConfigProblems(t *testing.T) {
	const consumers = "[[consumers]]\nname = \"guest\"\n"
	for _, tc := range []struct{ name, config, want string }{
		{"mode", `mode = "some"
  [[plugins.config.steps]]
  name = "key-auth"`, `test.toml:6: plugins[0].config.mode: must be "any" or "all", got "some"`},
		{"no steps", `mode = "any"`, "test.toml:5: plugins[0].config.steps: needs at least one authentication step"},
		{"not an auth plugin", `  [[plugins.config.steps]]
  name = "acl"
  [plugins.config.steps.config]
  allow = ["x"]`, `test.toml:7: plugins[0].config.steps[0].name: "acl" is not an authentication plugin`},
		{"unknown plugin", `  [[plugins.config.steps]]
  name = "key-auht"`, `test.toml:7: plugins[0].config.steps[0].name: unknown plugin "key-auht"`},
		{"a script", `  [[plugins.config.steps]]
  script = "auth.lua"`, `plugins[0].config.steps[0].name: needs the name of an authentication plugin (scripts cannot be methods)`},
		{"anonymous on a method", `  [[plugins.config.steps]]
  name = "key-auth"
  [plugins.config.steps.config]
  anonymous = "guest"`, `test.toml:9: plugins[0].config.steps[0].config.anonymous: set anonymous on the multi-auth step, not on its methods`},
		{"unknown anonymous", `anonymous = "ghost"
  [[plugins.config.steps]]
  name = "key-auth"`, `test.toml:6: plugins[0].config.anonymous: unknown consumer "ghost" (define it in [[consumers]])`},
		{"every method disabled", `  [[plugins.config.steps]]
  name = "key-auth"
  enabled = false`, `plugins[0].config.steps: every method is disabled`},
		{"a method's own problem", `  [[plugins.config.steps]]
  name = "key-auth"
  [plugins.config.steps.config]
  header = ""`, `test.toml:9: plugins[0].config.steps[0].config.header: needs a header or a query argument`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := plugintest.Build(consumers + "[[plugins]]\nname = \"multi-auth\"\n[plugins.config]\n" + tc.config + "\n")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}
