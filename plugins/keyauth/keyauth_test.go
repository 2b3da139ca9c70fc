package keyauth

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

const aliceKey = "alice-key-0123456789abcdef"

// consumers: alice's key inline, bob's as its SHA-256 ("bob-key").
const consumers = `
[[consumers]]
name = "alice"
groups = ["admins", "ops"]
keys = ["` + aliceKey + `"]
[[consumers]]
name = "bob"
keys = ["sha256:9b94dc1a51a38769f135edf04033ad7f2f487b6c25929be7a861cfc1ab10cf98"]
[[consumers]]
name = "guest"
`

func TestKeys(t *testing.T) {
	ch := plugintest.New(t, consumers+`
[[plugins]]
name = "key-auth"
[plugins.config]
query = "apikey"
`)
	cases := []struct {
		name, url string
		headers   []string
		consumer  string // "" for 401
	}{
		{"header", "/x", []string{"X-API-Key", aliceKey}, "alice"},
		{"header in another case", "/x", []string{"x-api-key", aliceKey}, "alice"},
		{"hashed key", "/x", []string{"X-API-Key", "bob-key"}, "bob"},
		{"query", "/x?apikey=" + aliceKey + "&a=1", nil, "alice"},
		{"header wins over query", "/x?apikey=wrong", []string{"X-API-Key", "bob-key"}, "bob"},
		{"no key", "/x", nil, ""},
		{"wrong key", "/x", []string{"X-API-Key", "nope"}, ""},
		{"empty key", "/x", []string{"X-API-Key", ""}, ""},
		{"a prefix of a key", "/x", []string{"X-API-Key", aliceKey[:10]}, ""},
		{"empty query key", "/x?apikey=", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ch.Do(plugintest.Request{URL: tc.url, Header: tc.headers})
			if tc.consumer == "" {
				if res.Status != 401 || !res.Stopped {
					t.Fatalf("status %d, stopped %v, want 401", res.Status, res.Stopped)
				}
				if got := string(res.Response.Header.Peek("WWW-Authenticate")); got != `Key realm="moongate"` {
					t.Fatalf("WWW-Authenticate %q", got)
				}
				if strings.Contains(res.Body, aliceKey) {
					t.Fatalf("the answer shows the key: %s", res.Body)
				}
				return
			}
			if res.Status != 200 || res.Consumer == nil || res.Consumer.Name != tc.consumer {
				t.Fatalf("status %d, consumer %v, want %s", res.Status, res.Consumer, tc.consumer)
			}
			if got := string(res.Sent.Header.Peek("X-Consumer-Name")); got != tc.consumer {
				t.Fatalf("upstream X-Consumer-Name %q", got)
			}
			// The query key never goes upstream; the other arguments do.
			if uri := string(res.Sent.RequestURI()); strings.Contains(uri, "apikey") || strings.Contains(tc.url, "a=1") && !strings.Contains(uri, "a=1") {
				t.Fatalf("upstream URI %q", uri)
			}
		})
	}
}

func TestIdentityHeaders(t *testing.T) {
	ch := plugintest.New(t, consumers+"[[plugins]]\nname = \"key-auth\"\n")
	res := ch.Do(plugintest.Request{Header: []string{"X-API-Key", aliceKey}})
	for name, want := range map[string]string{
		"X-Consumer-Name":         "alice",
		"X-Consumer-Groups":       "admins,ops",
		"X-Credential-Identifier": "alice:key-auth:0",
		"X-API-Key":               aliceKey, // kept without hide_credentials
	} {
		if got := string(res.Sent.Header.Peek(name)); got != want {
			t.Errorf("upstream %s %q, want %q", name, got, want)
		}
	}
}

func TestOptions(t *testing.T) {
	ch := plugintest.New(t, consumers+`
[[plugins]]
name = "key-auth"
[plugins.config]
header = "Api-Token"
hide_credentials = true
anonymous = "guest"
realm = "partners"
`)
	res := ch.Do(plugintest.Request{Header: []string{"Api-Token", aliceKey}})
	if res.Status != 200 || res.Sent.Header.Peek("Api-Token") != nil {
		t.Fatalf("hide_credentials: status %d, Api-Token %q sent", res.Status, res.Sent.Header.Peek("Api-Token"))
	}
	if res = ch.Do(plugintest.Request{Header: []string{"X-API-Key", aliceKey}}); res.Consumer == nil || res.Consumer.Name != "guest" {
		t.Fatalf("the default header is not read when another is set: consumer %v", res.Consumer)
	}
	if string(res.Sent.Header.Peek("X-Anonymous-Consumer")) != "true" {
		t.Errorf("anonymous: X-Anonymous-Consumer %q", res.Sent.Header.Peek("X-Anonymous-Consumer"))
	}
	res = ch.Do(plugintest.Request{Header: []string{"Api-Token", "wrong"}})
	if res.Status != 401 || string(res.Response.Header.Peek("WWW-Authenticate")) != `Key realm="partners"` {
		t.Fatalf("a wrong key is not anonymous: status %d, WWW-Authenticate %q", res.Status, res.Response.Header.Peek("WWW-Authenticate"))
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[[plugins]]\nname = \"key-auth\"\n[plugins.config]\nheader = \"\"\n", "test.toml:4: plugins[0].config.header: needs a header or a query argument to read the key from"},
		{"[[plugins]]\nname = \"key-auth\"\n[plugins.config]\nanonymous = \"ghost\"\n", `test.toml:4: plugins[0].config.anonymous: unknown consumer "ghost"`},
		{"[[consumers]]\nname = \"a\"\nkeys = [\"sha256:not-hex-topsecret\"]\n", `test.toml:3: consumers[0].keys[0]: "sha256:" must be followed by 64 hex digits`},
	} {
		_, err := plugintest.Build(tc.toml)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "topsecret") {
			t.Errorf("the problem shows the key: %v", err)
		}
	}
}
