package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pluginConfig stands for a plugin's config struct.
type pluginConfig struct {
	Key     Secret   `toml:"key"`
	TTL     Duration `toml:"ttl"`
	Header  string   `toml:"header"`
	File    string   `toml:"file,path"`
	Methods []string `toml:"methods"`
}

// TestDump: defaults filled, "${VAR}" expanded, paths absolute, secrets
// redacted (typed, tagged, and by name in tables of unknown type), and
// the output parses back to the same configuration.
func TestDump(t *testing.T) {
	t.Setenv("MG_TEST_LISTEN", "127.0.0.1:8088")
	t.Setenv("MG_TEST_SECRET", "s3cr3t-v4lue")
	dir := t.TempDir()
	file := filepath.Join(dir, "moongate.toml")
	src := `[server]
listen = "${MG_TEST_LISTEN}"
[admin]
token = "${MG_TEST_SECRET}"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:1" }]
[upstreams.sticky]
secret = "${MG_TEST_SECRET}"
[[routes]]
upstream = "u"
  [[routes.plugins]]
  name = "typed"
  [routes.plugins.config]
  key = "${MG_TEST_SECRET}"
  file = "data.json"
  [[routes.plugins]]
  script = "x.lua"
  [routes.plugins.config]
  api_key = "${MG_TEST_SECRET}"
  tokens = ["${MG_TEST_SECRET}", "other-s3cret"]
  greeting = "hi"
  nested = { password = "${MG_TEST_SECRET}", user = "bob" }
  [[routes.plugins]]
  name = "typed-without-table"
[[consumers]]
name = "alice"
keys = ["${MG_TEST_SECRET}"]
`
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[string][]any{}
	cfg.RecordDecodes(func(path string, v any) { decoded[path] = append(decoded[path], v) })
	// What two plugins' factories do: defaults, then Decode.
	for _, st := range []Step{cfg.Routes[0].Plugins[0], cfg.Routes[0].Plugins[2]} {
		pc := &pluginConfig{TTL: Duration(60e9), Header: "X-Key"}
		if err := st.Config.Decode(pc); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := cfg.Dump(&b, decoded); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("a secret in the dump:\n%s", out)
	}
	for _, want := range []string{
		"listen = [\"127.0.0.1:8088\"]\n",
		"read_timeout = \"30s\"\n",
		"idle_timeout = \"1m\"\n",
		"[admin]\nlisten = \"127.0.0.1:9080\"\ntoken = \"[redacted]\"\n",
		"[upstreams.sticky]\ncookie = \"moongate_sticky\"\nsecret = \"[redacted]\"\n",
		// a plugin's table as decoded: defaults, secret, path
		"[routes.plugins.config]\nkey = \"[redacted]\"\nttl = \"1m\"\nheader = \"X-Key\"\nfile = \"" + filepath.Join(dir, "data.json") + "\"\nmethods = []\n",
		// a table of unknown type: as written, secrets by key name
		"[routes.plugins.config]\napi_key = \"[redacted]\"\ngreeting = \"hi\"\ntokens = [\"[redacted]\", \"[redacted]\"]\n",
		"[routes.plugins.config.nested]\npassword = \"[redacted]\"\nuser = \"bob\"\n",
		// a plugin without a table gets its defaults
		"name = \"typed-without-table\"\nscript = \"\"\nenabled = true\non_error = \"fail\"\ntimeout = \"0s\"\nmax_instructions = 0\nmetrics = {}\n\n[routes.plugins.config]\nkey = \"\"\nttl = \"1m\"\n",
		"script = \"" + filepath.Join(dir, "x.lua") + "\"\n",
		"[[consumers]]\nname = \"alice\"\ngroups = []\nkeys = [\"[redacted]\"]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the dump has no\n%s\n---\n%s", want, out)
		}
	}
	// It parses back, to the same dump of the file's own sections.
	again, err := Parse(filepath.Join(t.TempDir(), "dumped.toml"), []byte(out))
	if err != nil {
		t.Fatalf("the dump does not parse: %v\n%s", err, out)
	}
	var b2 strings.Builder
	if err := again.Dump(&b2, nil); err != nil {
		t.Fatal(err)
	}
	head := func(s string) string { h, _, _ := strings.Cut(s, "[[routes]]"); return h }
	if head(b2.String()) != head(out) {
		t.Errorf("dumped again:\n%s\nfirst:\n%s", head(b2.String()), head(out))
	}
}

// TestAbsentTableKnowsItsPlace: a plugin's problem in a [config] table
// that is not written names the file, the step's line and the key path
// (it was ": algorithms: is required").
func TestAbsentTableKnowsItsPlace(t *testing.T) {
	cfg, err := Parse("moongate.toml", []byte("[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  name = \"jwt\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Routes[0].Plugins[0].Config.Problem("algorithms", "is required").Error()
	if want := "moongate.toml:3: routes[0].plugins[0].config.algorithms: is required"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
