package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretNeverPrinted(t *testing.T) {
	var s Secret
	if err := s.DecodeConfig("hunter2-topsecret"); err != nil || s.Value() != "hunter2-topsecret" {
		t.Fatalf("decode: %v %q", err, s.Value())
	}
	b, _ := json.Marshal(struct{ S Secret }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), string(b)} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret printed: %s", out)
		}
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "k")
	os.WriteFile(f, []byte("from-file\r\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600)
	cases := []struct {
		in, value, problem string
	}{
		{"file:" + f, "from-file", ""},
		{"file:" + filepath.Join(dir, "missing"), "", "cannot read secret file"},
		{"file:" + filepath.Join(dir, "empty"), "", "is empty"},
		{"file:", "", `"file:" needs a path`},
		{"inline", "inline", ""},
	}
	for _, tc := range cases {
		var s Secret
		if err := s.DecodeConfig(tc.in); err != nil {
			t.Fatalf("%q: DecodeConfig failed: %v", tc.in, err)
		}
		if s.Value() != tc.value || !strings.Contains(s.Problem(), tc.problem) || (tc.problem == "") != (s.Problem() == "") {
			t.Fatalf("%q: value %q problem %q", tc.in, s.Value(), s.Problem())
		}
	}
}

func TestConsumerChecks(t *testing.T) {
	_, err := Parse("m.toml", []byte(`
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
`))
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`consumers[0].name: must be printable ASCII without spaces or commas, got "a b"`,
		`consumers[0].groups[1]: must be printable ASCII`,
		`consumers[0].basic_auth[0].username: must be printable ASCII without spaces or ':'`,
		`consumers[0].basic_auth[1].password: is required`,
		`consumers[1].keys[0]: the same key is already given at consumers[0].keys[0]`,
		`consumers[1].hmac_secrets[0].key: duplicate key "h"`,
		`consumers[1].jwt_secrets[1].key: duplicate key "j"`,
		`auth.consumer_header: must be a header name`,
		`m.toml:`,
	} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "k1") || strings.Contains(msg, "0123456789") {
		t.Fatalf("error shows a secret:\n%s", msg)
	}
}

func TestKeyHash(t *testing.T) {
	a, ok1 := KeyHash("bob-key")
	b, ok2 := KeyHash("sha256:9b94dc1a51a38769f135edf04033ad7f2f487b6c25929be7a861cfc1ab10cf98")
	if !ok1 || !ok2 || a != b {
		t.Fatal("sha256: form does not match the key's digest")
	}
	for _, bad := range []string{"sha256:", "sha256:zz94dc1a51a38769f135edf04033ad7f2f487b6c25929be7a861cfc1ab10cf98", "sha256:abc"} {
		if _, ok := KeyHash(bad); ok {
			t.Fatalf("%q accepted", bad)
		}
	}
}
