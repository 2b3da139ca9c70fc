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
