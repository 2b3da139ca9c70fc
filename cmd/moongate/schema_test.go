package main

// The JSON Schema of the configuration, docs/moongate.schema.json, is
// made here, where every built-in plugin is linked in: `go generate
// ./core/config` runs TestSchemaUpToDate with -update.

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite docs/moongate.schema.json")

const (
	module     = "github.com/moongate/moongate"
	root       = "../.."
	schemaFile = root + "/docs/moongate.schema.json"
)

// pluginConfigs builds each registered plugin once from an empty table
// that records what the factory decodes it into: its config struct,
// with the defaults the factory set.
func pluginConfigs(t *testing.T) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, name := range plugin.Names() {
		f, _ := plugin.Lookup(name)
		var got any
		tbl := config.ProbeTable("plugins[0].config", func(v any) {
			if got == nil {
				got = v
			}
		})
		func() {
			defer func() { recover() }() // a factory that needs more than a table: no struct
			inst, _ := f(plugin.Spec{Name: name, Config: tbl, Path: "plugins[0]"})
			if c, ok := inst.(plugin.Cleaner); ok {
				c.Cleanup()
			}
		}()
		out[name] = got
	}
	return out
}

// sourceDocs reads the doc comments of the struct fields of the module's
// packages, by "pkgpath.Type.Field".
type sourceDocs struct {
	t    *testing.T
	docs map[string]string
	read map[string]bool
}

func (s *sourceDocs) doc(typ reflect.Type, field string) string {
	pkg := typ.PkgPath()
	if !s.read[pkg] {
		s.read[pkg] = true
		s.parse(pkg)
	}
	return s.docs[pkg+"."+typ.Name()+"."+field]
}

func (s *sourceDocs) parse(pkg string) {
	rel, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, filepath.Join(root, rel), func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return true
				}
				for _, fl := range st.Fields.List {
					cg := fl.Doc
					if cg == nil {
						cg = fl.Comment
					}
					if cg == nil {
						continue
					}
					for _, id := range fl.Names {
						s.docs[pkg+"."+ts.Name.Name+"."+id.Name] = oneParagraphPerLine(cg.Text())
					}
				}
				return true
			})
		}
	}
}

// oneParagraphPerLine joins the lines of a comment, paragraphs apart.
func oneParagraphPerLine(s string) string {
	var paras []string
	for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		paras = append(paras, strings.Join(strings.Fields(p), " "))
	}
	return strings.Join(paras, "\n\n")
}

// generateSchema returns docs/moongate.schema.json as it should be.
func generateSchema(t *testing.T) []byte {
	t.Helper()
	docs := &sourceDocs{t: t, docs: map[string]string{}, read: map[string]bool{}}
	s := config.Schema(config.SchemaOptions{Plugins: pluginConfigs(t), Doc: docs.doc})
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSchemaUpToDate fails when docs/moongate.schema.json is not what the
// configuration's structs make; `go generate ./core/config` rewrites it.
func TestSchemaUpToDate(t *testing.T) {
	want := generateSchema(t)
	if *update {
		if err := os.WriteFile(schemaFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("docs/moongate.schema.json is stale (%v): run `go generate ./core/config`", err)
	}
}

// compileSchema compiles docs/moongate.schema.json.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("moongate.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("moongate.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// asJSON reads TOML as the JSON an editor's schema check sees.
func asJSON(t *testing.T, src string) any {
	t.Helper()
	var raw map[string]any
	if _, err := toml.Decode(src, &raw); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSchemaValidatesConfigurations: the shipped configuration passes the
// schema; typos and wrong types, in the file's sections and in plugins'
// tables, do not.
func TestSchemaValidatesConfigurations(t *testing.T) {
	s := compileSchema(t)
	src, err := os.ReadFile(root + "/conf/moongate.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(asJSON(t, string(src))); err != nil {
		t.Errorf("conf/moongate.toml does not pass the schema: %v", err)
	}
	// Every built-in plugin, from their documentation's examples.
	ok := `
[server]
listen = ["127.0.0.1:8080"]
max_body_size = 1048576
buffer_body_size = "64KB"
shutdown_delay = "5s"
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:1", weight = 2 }]
[upstreams.health]
path = "/healthz"
[[consumers]]
name = "alice"
keys = ["k"]
jwt_secrets = [{ key = "iss", secret = "s", algorithm = "HS256" }]
[[routes]]
paths = ["/"]
upstream = "u"
retries = 2
  [[routes.plugins]]
  name = "cache"
  [routes.plugins.config]
  ttl = "30s"
  max_object_size = "1MB"
  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  mode = "any"
    [[routes.plugins.config.steps]]
    name = "key-auth"
  [[routes.plugins]]
  script = "x.lua"
  name = "any label"
  [routes.plugins.config]
  whatever = [1, "two"]
`
	if err := s.Validate(asJSON(t, ok)); err != nil {
		t.Errorf("a valid configuration does not pass the schema: %v", err)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", "[server]\nlisten_addr = \"x\"\n", "listen_addr"},
		{"wrong type", "[server]\nread_timeout = 30\n", "read_timeout"},
		{"bad duration", "[server]\nread_timeout = \"30 seconds\"\n", "read_timeout"},
		{"bad size", "[server]\nmax_body_size = \"8 megs\"\n", "max_body_size"},
		{"unknown plugin", "[[plugins]]\nname = \"headerz\"\n", "name"},
		{"unknown key of a plugin", "[[plugins]]\nname = \"cache\"\n[plugins.config]\nttll = \"1s\"\n", "ttll"},
		{"wrong type in a plugin", "[[plugins]]\nname = \"mock\"\n[plugins.config]\nstatus = \"ok\"\n", "status"},
		{"step of a nested chain", "[[plugins]]\nname = \"multi-auth\"\n[[plugins.config.steps]]\nname = \"nope\"\n", "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate(asJSON(t, tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error about %s", err, tc.want)
			}
		})
	}
}
