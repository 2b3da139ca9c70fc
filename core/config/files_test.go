package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRelativePathsResolveAgainstTheConfigFolder: a configuration in
// /etc/moongate names its files relative to /etc/moongate, whatever the
// working directory (a systemd unit starts in /).
func TestRelativePathsResolveAgainstTheConfigFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "sticky"), []byte("from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "moongate.toml")
	src := `[server.tls]
cert = "tls/cert.pem"
key = "/abs/key.pem"
[cache]
file = "cache"
[[upstreams]]
name = "u"
targets = [{ url = "https://127.0.0.1:1" }]
[upstreams.tls]
ca_file = "../ca.pem"
[[routes]]
upstream = "u"
  [[routes.plugins]]
  script = "scripts/a.lua"
  [routes.plugins.config]
  key = "file:secrets/sticky"
  file = "data.json"
`
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	// The working directory is anything but the configuration's folder.
	t.Chdir(t.TempDir())
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(dir)
	for _, c := range []struct{ key, got, want string }{
		{"server.tls.cert", cfg.Server.TLS.Cert, filepath.Join(dir, "tls/cert.pem")},
		{"server.tls.key", cfg.Server.TLS.Key, "/abs/key.pem"},
		{"cache.file", cfg.Cache.File, filepath.Join(dir, "cache")},
		{"lua.dir (default)", cfg.Lua.Dir, filepath.Join(dir, "scripts")},
		{"upstreams[0].tls.ca_file", cfg.Upstreams[0].TLS.CAFile, filepath.Join(root, "ca.pem")},
		{"routes[0].plugins[0].script", cfg.Routes[0].Plugins[0].Script, filepath.Join(dir, "scripts/a.lua")},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
		}
	}

	// A plugin's table: fields tagged `path`, written or defaults, and
	// "file:" secrets.
	var pc struct {
		Key     Secret `toml:"key"`
		File    string `toml:"file,path"`
		Default string `toml:"default,path"`
		Plain   string `toml:"plain"`
	}
	pc.Default, pc.Plain = "default.json", "not/a/path"
	if err := cfg.Routes[0].Plugins[0].Config.Decode(&pc); err != nil {
		t.Fatal(err)
	}
	if pc.Key.Value() != "from-the-file" || pc.File != filepath.Join(dir, "data.json") ||
		pc.Default != filepath.Join(dir, "default.json") || pc.Plain != "not/a/path" {
		t.Errorf("plugin table: key %q (%s), file %q, default %q, plain %q", pc.Key.Value(), pc.Key.Problem(), pc.File, pc.Default, pc.Plain)
	}
}

// TestRelativePathsOfAFileNamedRelatively: -c conf/moongate.toml keeps the
// paths relative to the working directory, as joined to "conf".
func TestRelativePathsOfAFileNamedRelatively(t *testing.T) {
	cfg, err := Parse("conf/moongate.toml", []byte("[lua]\ndir = \"../scripts\"\n[[routes]]\n[[routes.plugins]]\nscript = \"../scripts/x.lua\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Lua.Dir != "scripts" || cfg.Routes[0].Plugins[0].Script != "scripts/x.lua" {
		t.Errorf("lua.dir %q, script %q; want scripts and scripts/x.lua", cfg.Lua.Dir, cfg.Routes[0].Plugins[0].Script)
	}
}

// TestUnreadableSecretFileIsNamed: the problem names the file as resolved.
func TestUnreadableSecretFileIsNamed(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "moongate.toml")
	os.WriteFile(file, []byte("[[routes]]\n[[routes.plugins]]\nname = \"x\"\n[routes.plugins.config]\nkey = \"file:nope\"\n"), 0o600)
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var pc struct {
		Key Secret `toml:"key"`
	}
	if err := cfg.Routes[0].Plugins[0].Config.Decode(&pc); err != nil {
		t.Fatal(err)
	}
	want := `cannot read secret file "` + filepath.Join(dir, "nope") + `": no such file or directory`
	if pc.Key.Problem() != want {
		t.Errorf("problem %q, want %q", pc.Key.Problem(), want)
	}
	if got := CannotRead("/x/y", &os.PathError{Op: "open", Path: "/x/y", Err: os.ErrPermission}); !strings.HasPrefix(got, "cannot read /x/y: permission denied") {
		t.Errorf("CannotRead = %q", got)
	}
}
