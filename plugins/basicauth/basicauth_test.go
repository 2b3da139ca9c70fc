package basicauth

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	"golang.org/x/crypto/bcrypt"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const challenge = `Basic realm="moongate", charset="UTF-8"`

func TestCredentials(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret pass:word"), bcrypt.MinCost)
	ch := plugintest.New(t, `
[[consumers]]
name = "alice"
basic_auth = [{ username = "alice", password = "`+string(hash)+`" }]
[[consumers]]
name = "bob"
basic_auth = [{ username = "bob", password = "plain-pw" }]
[[plugins]]
name = "basic-auth"
[plugins.config]
hide_credentials = true
`)
	cases := []struct {
		auth     string
		consumer string // "" for 401
	}{
		{"Basic " + b64("alice:s3cret pass:word"), "alice"}, // bcrypt; a colon in the password
		{"basic " + b64("alice:s3cret pass:word"), "alice"}, // the scheme in any case
		{"Basic " + b64("bob:plain-pw"), "bob"},
		{"Basic " + b64("alice:wrong"), ""},
		{"Basic " + b64("bob:plain-pw "), ""},
		{"Basic " + b64("carol:plain-pw"), ""},
		{"Basic " + b64(":plain-pw"), ""},
		{"Basic " + b64("bobplain-pw"), ""},
		{"Basic " + b64(""), ""},
		{"Basic !!!not-base64!!!", ""},
		{"Basic " + b64("bob:plain-pw")[:5], ""},
		{"Basic " + strings.Repeat("QUFB", 400), ""}, // longer than any credential
		{"Basic", ""},
		{"Basic ", ""},
		{"Basicx " + b64("bob:plain-pw"), ""},
		{"Bearer " + b64("bob:plain-pw"), ""},
		{b64("bob:plain-pw"), ""},
		{"", ""},
	}
	for _, tc := range cases {
		var h []string
		if tc.auth != "" {
			h = []string{"Authorization", tc.auth}
		}
		res := ch.Do(plugintest.Request{Header: h})
		if tc.consumer == "" {
			if res.Status != 401 || !res.Stopped {
				t.Fatalf("%.40q: status %d, stopped %v, want 401: %s", tc.auth, res.Status, res.Stopped, res.Body)
			}
			if got := string(res.Response.Header.Peek("WWW-Authenticate")); got != challenge {
				t.Fatalf("%.40q: WWW-Authenticate %q", tc.auth, got)
			}
			if strings.Contains(res.Body, "plain-pw") || strings.Contains(res.Body, "s3cret") {
				t.Fatalf("%.40q: the answer shows a password: %s", tc.auth, res.Body)
			}
			continue
		}
		if res.Status != 200 || res.Consumer == nil || res.Consumer.Name != tc.consumer {
			t.Fatalf("%.40q: status %d, consumer %v, want %s", tc.auth, res.Status, res.Consumer, tc.consumer)
		}
		if got := res.Sent.Header.Peek("Authorization"); got != nil {
			t.Fatalf("hide_credentials: Authorization %q sent upstream", got)
		}
		if got := string(res.Sent.Header.Peek("X-Consumer-Name")); got != tc.consumer {
			t.Fatalf("upstream X-Consumer-Name %q", got)
		}
	}
}

func TestOptions(t *testing.T) {
	ch := plugintest.New(t, `
[[consumers]]
name = "bob"
basic_auth = [{ username = "bob", password = "plain-pw" }]
[[consumers]]
name = "guest"
[[plugins]]
name = "basic-auth"
[plugins.config]
realm = "staff"
anonymous = "guest"
`)
	// Without hide_credentials the header goes on.
	res := ch.Do(plugintest.Request{Header: []string{"Authorization", "Basic " + b64("bob:plain-pw")}})
	if res.Status != 200 || string(res.Sent.Header.Peek("Authorization")) != "Basic "+b64("bob:plain-pw") {
		t.Fatalf("status %d, Authorization %q", res.Status, res.Sent.Header.Peek("Authorization"))
	}
	// No credentials: the anonymous consumer.
	res = ch.Do(plugintest.Request{})
	if res.Status != 200 || res.Consumer == nil || res.Consumer.Name != "guest" || string(res.Sent.Header.Peek("X-Anonymous-Consumer")) != "true" {
		t.Fatalf("anonymous: status %d, consumer %v", res.Status, res.Consumer)
	}
	// Wrong credentials are not anonymous; the challenge has the realm.
	res = ch.Do(plugintest.Request{Header: []string{"Authorization", "Basic " + b64("bob:nope")}})
	if res.Status != 401 || string(res.Response.Header.Peek("WWW-Authenticate")) != `Basic realm="staff", charset="UTF-8"` {
		t.Fatalf("wrong password: status %d, WWW-Authenticate %q", res.Status, res.Response.Header.Peek("WWW-Authenticate"))
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{`[[plugins]]
name = "basic-auth"
[plugins.config]
anonymous = "ghost"`, `test.toml:4: plugins[0].config.anonymous: unknown consumer "ghost"`},
		{`[[consumers]]
name = "a"
basic_auth = [{ username = "a:b", password = "p" }]`, `test.toml:3: consumers[0].basic_auth[0].username: must be printable ASCII without spaces or ':'`},
		{`[[consumers]]
name = "a"
basic_auth = [{ username = "a", password = "$2b$10$tooshort-topsecret" }]
[[plugins]]
name = "basic-auth"`, `test.toml:3: consumers[0].basic_auth[0].password: is not a valid bcrypt hash`},
	} {
		_, err := plugintest.Build(tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "topsecret") {
			t.Errorf("the problem shows the secret: %v", err)
		}
	}
}
