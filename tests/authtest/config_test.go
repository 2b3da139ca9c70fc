package authtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/store"
	_ "github.com/moongate/moongate/plugins/hmacauth"
	_ "github.com/moongate/moongate/plugins/jwt"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// configError loads and builds toml and returns the error text.
func configError(t *testing.T, toml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "moongate.toml")
	os.WriteFile(file, []byte(gatewaytest.WithTestListeners(toml)), 0o600)
	rt, err := gateway.Load(file, store.New(store.MinSize), gatewaytest.Logger(t))
	if err == nil {
		rt.Close(0)
		t.Fatal("configuration accepted")
	}
	return err.Error()
}

// Problems with secrets name the file, line and key, and never the secret.
func TestSecretProblemsDoNotLeak(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SHORT_JWT_SECRET", "envsecret-too-short")
	cases := []struct {
		name, toml, want string
		secrets          []string
	}{
		{"bad sha256", `[[consumers]]
name = "a"
keys = ["sha256:not-hex-topsecret"]`, `consumers[0].keys[0]: "sha256:" must be followed by 64 hex digits`, []string{"topsecret"}},
		{"duplicate key", `[[consumers]]
name = "a"
keys = ["shared-topsecret"]
[[consumers]]
name = "b"
keys = ["shared-topsecret"]`, "consumers[1].keys[0]: the same key is already given at consumers[0].keys[0]", []string{"topsecret"}},
		{"missing file", `[[consumers]]
name = "a"
keys = ["file:` + filepath.Join(dir, "nope") + `"]`, "consumers[0].keys[0]: cannot read secret file", nil},
		{"short HS256 secret", `[[consumers]]
name = "a"
jwt_secrets = [{ key = "iss", secret = "${SHORT_JWT_SECRET}" }]`, "consumers[0].jwt_secrets[0].secret: HS256 needs a secret of at least 32 bytes", []string{"envsecret"}},
		{"bad PEM", `[[consumers]]
name = "a"
jwt_secrets = [{ key = "iss", secret = "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----", algorithm = "RS256" }]`, "is not a public key", []string{"QUJD"}},
		{"secret not a string", `[[consumers]]
name = "a"
keys = [123456789]`, "consumers[0].keys[0]: expected a string", []string{"123456789"}},
		{"bad bcrypt", `[[consumers]]
name = "a"
basic_auth = [{ username = "a", password = "$2b$10$tooshort-topsecret" }]`, "consumers[0].basic_auth[0].password: is not a valid bcrypt hash", []string{"topsecret"}},
		{"unknown algorithm", `[[consumers]]
name = "a"
jwt_secrets = [{ key = "iss", secret = "0123456789abcdef0123456789abcdef", algorithm = "none" }]`, `consumers[0].jwt_secrets[0].algorithm: must be one of`, []string{"0123456789abcdef"}},
		{"anonymous unknown", `[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "key-auth"
  [routes.plugins.config]
  anonymous = "ghost"`, `routes[0].plugins[0].config.anonymous: unknown consumer "ghost"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := configError(t, tc.toml)
			if !contains(msg, tc.want) || !contains(msg, "moongate.toml:") {
				t.Fatalf("error %q lacks %q", msg, tc.want)
			}
			for _, s := range tc.secrets {
				if contains(msg, s) {
					t.Fatalf("error shows the secret: %q", msg)
				}
			}
		})
	}
}

// A key read from a file works like one written inline.
func TestSecretFromFile(t *testing.T) {
	u := startRecorder(t)
	file := filepath.Join(t.TempDir(), "alice.key")
	os.WriteFile(file, []byte("file-key-123\n"), 0o600)
	g := gatewaytest.Start(t, keyAuthConfig(u, `
[[consumers]]
name = "alice"
groups = ["admins"]
keys = ["file:`+file+`"]
`))
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/admin/x", nil, "X-API-Key", "file-key-123"); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
}

// TestConsumerChecks: every problem of [[consumers]] is reported at once,
// those of its names and groups (core/config) with those of each kind of
// credential (its plugin's), and no secret is shown.
func TestConsumerChecks(t *testing.T) {
	msg := configError(t, `
[auth]
consumer_header = "bad header"

[[consumers]]
name = "a b"
groups = ["ok", "has,comma"]
keys = ["k1"]
basic_auth = [{ username = "u:1", password = "p" }, { username = "u2" }]
hmac_secrets = [{ key = "h", secret = "s" }]

[[consumers]]
name = "c"
keys = ["k1"]
hmac_secrets = [{ key = "h", secret = "s" }]
jwt_secrets = [{ key = "j", secret = "0123456789abcdef0123456789abcdef", algorithm = "RS256" }, { key = "j", secret = "x" }]
`)
	for _, want := range []string{
		`consumers[0].name: must be printable ASCII without spaces or commas, got "a b"`,
		`consumers[0].groups[1]: must be printable ASCII`,
		`consumers[0].basic_auth[0].username: must be printable ASCII without spaces or ':'`,
		`consumers[0].basic_auth[1].password: is required`,
		`consumers[1].keys[0]: the same key is already given at consumers[0].keys[0]`,
		`consumers[1].hmac_secrets[0].key: duplicate key "h"`,
		`consumers[1].jwt_secrets[1].key: duplicate key "j"`,
		`auth.consumer_header: must be a header name`,
		`moongate.toml:`,
	} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "k1") || strings.Contains(msg, "0123456789") {
		t.Fatalf("error shows a secret:\n%s", msg)
	}
}
