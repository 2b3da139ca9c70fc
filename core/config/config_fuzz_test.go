package config

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// fuzzSecret is the value of the environment variable the fuzzed files
// may reference; no error may show it.
const (
	fuzzSecretVar = "MOONGATE_FUZZ_SECRET"
	fuzzSecret    = "Zq9-env-secret-Xv4"
)

// FuzzParse feeds arbitrary bytes to the configuration decoder (Parse,
// then Table.Decode of every step's table, as plugin factories do, and
// of every consumer's credentials, as the kinds of credentials do). It
// must never panic; every error is Problems whose items name the file and,
// when they name a key, the line it is on (file:line: key: reason), or are
// whole-file problems without a key; and no error shows the value of a
// "${VAR}" reference.
func FuzzParse(f *testing.F) {
	old, had := os.LookupEnv(fuzzSecretVar)
	os.Setenv(fuzzSecretVar, fuzzSecret)
	f.Cleanup(func() {
		if had {
			os.Setenv(fuzzSecretVar, old)
		} else {
			os.Unsetenv(fuzzSecretVar)
		}
	})
	if data, err := os.ReadFile("../../conf/moongate.toml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"[server]\nlisten = \"0.0.0.0:8080\"\nread_timeout = \"5x\"\nmax_body_size = \"12 parsecs\"\n",
		"[admin]\ntoken = \"${" + fuzzSecretVar + "}\"\nlisten = \"${" + fuzzSecretVar + "}\"\n",
		"[server]\nread_timeout = \"${" + fuzzSecretVar + "}\"\nmax_body_size = \"${" + fuzzSecretVar + "}\"\nlisten = [\"${" + fuzzSecretVar + "}\"]\n",
		"[[routes]]\nname = \"${" + fuzzSecretVar + "}\"\npaths = [\"${" + fuzzSecretVar + "}\"]\nhosts = [\"${" + fuzzSecretVar + "}\"]\nupstream = \"${" + fuzzSecretVar + "}\"\n",
		"[[upstreams]]\nname = \"u\"\ntargets = [{ url = \"${" + fuzzSecretVar + "}\" }]\n",
		"[[consumers]]\nname = \"a\"\nkeys = [\"${" + fuzzSecretVar + "}\", \"sha256:${" + fuzzSecretVar + "}\"]\n" +
			"jwt_secrets = [{ key = \"k\", secret = \"${" + fuzzSecretVar + "}\", algorithm = \"${" + fuzzSecretVar + "}\" }]\n",
		"[[plugins]]\nname = \"x\"\n[plugins.config]\nsecret = \"${" + fuzzSecretVar + "}\"\nttl = \"${" + fuzzSecretVar + "}\"\nn = \"${" + fuzzSecretVar + "}\"\n",
		"[lua]\ntimeout = \"${" + fuzzSecretVar + ":-1h}\"\ndir = \"$${" + fuzzSecretVar + "}\"\n",
		`a = "\`, `a = """\`, "x = 1\n\"\\", `a = '''\`, "\xef\xbb\xbf[a.b]\nc = 1\n", "\xff\xfe[[x]]",
		"[[plugins]]\nname = \"x\"\n[plugins.config]\nnames = [\"${" + fuzzSecretVar + "}\"]\nlisten = 1\n" +
			"nested = { keys = [\"${" + fuzzSecretVar + "}\"], sub = 1 }\nlist = [{ name = \"a\", wait = \"${" + fuzzSecretVar + "}\" }]\n",
		"a = \"${UNSET_VAR_FOR_FUZZ}\"\nb = \"${bad name}\"\nc = \"${unterminated\"\n",
		"[[routes]]\npaths = [\"/a/{id}/{id}\", \"/b//c\", \"/c/{x}y\"]\nrewrite = \"/v2/{missing}\"\nhosts = [\"API.example.com\"]\n",
		"[[routes]]\n[[routes.plugins]]\nname = \"a\"\nmulti = 1\n[[routes]]\n[[routes.plugins]]\nname = \"b\"\n[[routes.plugins]]\nnmae = \"c\"\n",
		"routes = [{ name = \"a\", plugins = [{ name = \"x\", config = { ttl = 5 } }] }]\n",
		"[server.\"quoted.key\"]\n\"a.b\".c = 1\n'lit' = 2\n",
		"x = \"\"\"\nmulti\nline\n\"\"\"\n[server]\nbogus = '''\n'''\n",
		"x = [\n1,\n2,\n]\n[admin]\nnope = 1\n",
		"[server]\nlisten = 8080\nmax_connections = 9999999999999999999\nstrict_paths = \"yes\"\n",
		"[server\n", "= 1", "[[a]]\n[a]\n", "a.b = 1\na = 2\n", "\xff\xfe[server]", "x = 1979-05-27T07:32:00Z\n",
		"[[consumers]]\nname = \"a\"\nkeys = [\"file:\"]\n[[consumers]]\nname = \"b\"\nkeys = [\"file:/nonexistent/" + fuzzSecret + "\"]\n",
		strings.Repeat("[[routes]]\n", 200), strings.Repeat("[", 1000), strings.Repeat("a = [", 500),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		if bytes.Contains(data, []byte("file:")) && (bytes.Contains(data, []byte("dev")) ||
			bytes.Contains(data, []byte("proc")) || bytes.Contains(data, []byte("sys"))) {
			return // secrets read files: keep clear of devices that never end
		}
		// The secret is what ${VAR} expands to; a file that writes it out
		// may of course see it echoed.
		leakable := !bytes.Contains(data, []byte(fuzzSecret[:8])) && !bytes.Contains(data, []byte(fuzzSecret[8:]))
		lines := bytes.Count(data, []byte("\n")) + 1

		cfg, err := Parse("fuzz.toml", data)
		checkProblems(t, "Parse", err, lines, leakable)
		if cfg == nil {
			return
		}
		// What the gateway's build checks later, quoting the values it
		// refuses, as plugin factories do too.
		var steps []Step
		steps = append(steps, cfg.Plugins...)
		for i, r := range cfg.Routes {
			steps = append(steps, r.Plugins...)
			p := "routes[" + strconv.Itoa(i) + "].upstream"
			checkProblems(t, "Config.Problem", cfg.Problem(p, "unknown upstream "+strconv.Quote(r.Upstream)), lines, leakable)
		}
		for _, cs := range cfg.Consumers {
			for _, k := range cs.Credentials.Keys() {
				var v fuzzCredentials
				checkProblems(t, "Credentials", cs.Credentials.Only(k).Decode(&v), lines, leakable)
				checkProblems(t, "Credentials.Problem", cs.Credentials.Problem(k+"[0].key", "bad key"), lines, leakable)
			}
		}
		for _, s := range steps {
			var v fuzzPluginConfig
			checkProblems(t, "Decode", s.Config.Decode(&v), lines, leakable)
			_, err := s.Config.Raw()
			checkProblems(t, "Raw", err, lines, leakable)
			for _, n := range v.Names {
				checkProblems(t, "Table.Problem", s.Config.Problem("names", "bad name "+strconv.Quote(n)), lines, leakable)
			}
		}
	})
}

// fuzzCredentials has the keys of the kinds of credentials of
// [[consumers]], as their plugins decode them.
type fuzzCredentials struct {
	Keys      []Secret `toml:"keys"`
	BasicAuth []struct {
		Username string `toml:"username"`
		Password Secret `toml:"password"`
	} `toml:"basic_auth"`
	JWTSecrets []struct {
		Key       string `toml:"key"`
		Secret    Secret `toml:"secret"`
		Algorithm string `toml:"algorithm"`
	} `toml:"jwt_secrets"`
	HMACSecrets []struct {
		Key    string `toml:"key"`
		Secret Secret `toml:"secret"`
	} `toml:"hmac_secrets"`
}

// fuzzPluginConfig has a field of every kind plugin configs use.
type fuzzPluginConfig struct {
	Secret  Secret            `toml:"secret"`
	TTL     Duration          `toml:"ttl"`
	Size    Size              `toml:"size"`
	Listen  StringList        `toml:"listen"`
	Names   []string          `toml:"names"`
	Headers map[string]string `toml:"headers"`
	N       int               `toml:"n"`
	U8      uint8             `toml:"u8"`
	Ratio   float64           `toml:"ratio"`
	On      bool              `toml:"on"`
	Any     any               `toml:"any"`
	Nested  *struct {
		Keys []Secret `toml:"keys"`
		Sub  Table    `toml:"sub"`
	} `toml:"nested"`
	List []struct {
		Name string   `toml:"name"`
		Wait Duration `toml:"wait"`
	} `toml:"list"`
}

func checkProblems(t *testing.T, what string, err error, lines int, leakable bool) {
	t.Helper()
	if err == nil {
		return
	}
	var ps Problems
	if !errors.As(err, &ps) {
		var p Problem
		if !errors.As(err, &p) {
			t.Fatalf("%s: error %T is not Problems: %v", what, err, err)
		}
		ps = Problems{p}
	}
	if len(ps) == 0 {
		t.Fatalf("%s: empty Problems as an error", what)
	}
	for _, p := range ps {
		if p.File != "fuzz.toml" || p.Reason == "" {
			t.Fatalf("%s: problem without file or reason: %+v", what, p)
		}
		if p.Line < 0 || p.Line > lines {
			t.Fatalf("%s: line %d out of the file's %d: %v", what, p.Line, lines, p)
		}
		if p.Key != "" && p.Line == 0 {
			t.Fatalf("%s: problem of key %s has no line: %v", what, p.Key, p)
		}
		want := "fuzz.toml: "
		if p.Line > 0 {
			want = "fuzz.toml:" + strconv.Itoa(p.Line) + ":"
		}
		if !strings.HasPrefix(p.Error(), want) {
			t.Fatalf("%s: problem prints as %q, want it to start with %q", what, p.Error(), want)
		}
	}
	if msg := err.Error(); leakable && strings.Contains(msg, fuzzSecret) {
		t.Fatalf("%s: an error shows the value of $%s:\n%s", what, fuzzSecretVar, msg)
	}
}
