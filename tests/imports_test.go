package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// The import rules of plugins: a plugin imports the contract
// (core/plugin) and, at most, small libraries of core that know nothing
// of the engine, the standard library and the third-party modules below.
// Everything of the engine is in core/internal, where the compiler keeps
// plugins out already; these rules keep them out of the rest too (the
// gateway, the CLI, the upstreams, the admin server), and make any new
// dependency of a plugin a decision written here.
const module = "github.com/moongate/moongate/"

// pluginImports are the packages of the module every plugin may import.
var pluginImports = []string{
	"core/plugin",       // the contract
	"core/config",       // table and value types, problems
	"core/consumer",     // consumers, kinds of credentials
	"core/authstep",     // what authentication steps share
	"core/store",        // the shared store's namespaces
	"core/realip",       // trusted proxies, client addresses
	"core/ttlmap",       // bounded map with expiry
	"core/httpbytes",    // ASCII case folding, header lists, hex digits
	"core/jsonstr",      // JSON string escaping
	"core/tracecontext", // W3C traceparent and tracestate

	// The transformation plugins' libraries (issue 16).
	"core/template",      // value templates of request data
	"core/jsonedit",      // JSON body edits by dotted path
	"core/compress",      // content negotiation, codecs
	"core/jsonschema",    // JSON Schema validation
	"core/transformstep", // what the transformation steps share

	// The observability plugins' libraries (issue 13).
	"core/accesslog", // access-log formats, redaction, batching writer

	// The limits' libraries (issue 14).
	"core/ratelimit", // rate-limit decisions, local and on Redis
	"core/limitkey",  // who a limit counts (consumer, ip, header, ...)
	"core/marks",     // marks shared through Redis (replays, logouts)
}

// extraImports are what some packages may import besides: path prefixes
// (ending in "/") or packages. The Lua plugin has the SDK, its own
// packages, and plugintest behind `moongate script run/test`; the SDK has
// its registry of gw namespaces.
var extraImports = map[string][]string{
	"plugins/lua": {"plugins/lua/", "sdk", "core/plugin/plugintest"},
	"sdk":         {"sdk/", "core/registry"},
	"sdk/gen":     {"sdk"},
}

// thirdParty are the modules plugins use, by path prefix.
var thirdParty = []string{
	"github.com/valyala/fasthttp",
	"github.com/yuin/gopher-lua",
	"github.com/golang-jwt/jwt/v5",
	"github.com/go-jose/go-jose/v4",
	"golang.org/x/crypto/",
	"go.opentelemetry.io/otel/", // the opentelemetry plugin's SDK and OTLP exporter

	// The shared client of Spec.Redis (issue 14): plugins and gw.redis
	// use the one the gateway builds, never a client of their own.
	"github.com/redis/go-redis/v9",
}

// engine are the packages no plugin may depend on, even through another
// package; core/internal/chain only through core/plugin/plugintest.
var engine = []string{"core/gateway", "core/cli", "core/upstream"}

// listedPackage is what `go list -json` says of a package.
type listedPackage struct {
	ImportPath string
	Imports    []string // of its non-test files
	Deps       []string
}

// listPackages runs go list over patterns, from the repository's root.
func listPackages(t *testing.T, patterns ...string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, patterns...)...)
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// importProblems returns the imports of pkgs that break the rules, one
// line each: "plugins/x imports core/gateway".
func importProblems(pkgs []listedPackage) []string {
	var out []string
	for _, p := range pkgs {
		name := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			if !importAllowed(name, imp) {
				out = append(out, name+" imports "+strings.TrimPrefix(imp, module))
			}
		}
		for _, dep := range p.Deps {
			d := strings.TrimPrefix(dep, module)
			for _, e := range engine {
				if d == e || strings.HasPrefix(d, e+"/") {
					out = append(out, name+" depends on "+d)
				}
			}
			if d == "core/internal/chain" && !slicesContain(extraImports[name], "core/plugin/plugintest") {
				out = append(out, name+" depends on "+d)
			}
		}
	}
	sort.Strings(out)
	return out
}

func importAllowed(pkg, imp string) bool {
	own, inModule := strings.CutPrefix(imp, module)
	if !inModule {
		if !strings.Contains(strings.Split(imp, "/")[0], ".") {
			return true // the standard library
		}
		for _, m := range thirdParty {
			if imp == strings.TrimSuffix(m, "/") || strings.HasPrefix(imp, strings.TrimSuffix(m, "/")+"/") {
				return true
			}
		}
		return false
	}
	if slicesContain(pluginImports, own) {
		return true
	}
	// A plugin's packages may import each other (plugins/aiproxy/translate
	// imports plugins/aiproxy/sse), never another plugin's.
	if root := pluginRoot(pkg); root != "" && (own == root || strings.HasPrefix(own, root+"/")) {
		return true
	}
	for _, x := range extraImports[pkg] {
		if own == x || strings.HasSuffix(x, "/") && strings.HasPrefix(own, x) {
			return true
		}
	}
	return false
}

// pluginRoot returns "plugins/x" for a package plugins/x or plugins/x/...,
// "" for packages outside plugins/.
func pluginRoot(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, "plugins/")
	if !ok || rest == "" {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return "plugins/" + name
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestPluginImports: every plugin (and the Lua SDK) imports only what
// the rules above allow, and depends on no part of the engine: plugins
// program against core/plugin alone. `make check` runs it.
func TestPluginImports(t *testing.T) {
	pkgs := listPackages(t, "./plugins/...", "./sdk/...")
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages: wrong folder?", len(pkgs))
	}
	for _, p := range importProblems(pkgs) {
		t.Error(p)
	}
}

// TestImportRulesCatchTheEngine: the check refuses what plugins used to
// import (the gateway, the CLI, upstream internals, the admin server, the
// shared store under its old name), so that TestPluginImports cannot pass
// by checking nothing.
func TestImportRulesCatchTheEngine(t *testing.T) {
	pkgs := []listedPackage{
		{ImportPath: module + "plugins/cache", Imports: []string{module + "core/gateway", module + "core/plugin", "net/http"}},
		{ImportPath: module + "plugins/lua", Imports: []string{module + "core/cli", module + "core/admin", module + "sdk"}},
		{ImportPath: module + "plugins/requestsizelimit", Imports: []string{module + "core/upstream", "github.com/evil/module"}},
		{ImportPath: module + "plugins/acl", Imports: []string{module + "core/plugin"}, Deps: []string{module + "core/internal/chain"}},
	}
	got := strings.Join(importProblems(pkgs), "\n")
	want := strings.Join([]string{
		"plugins/acl depends on core/internal/chain",
		"plugins/cache imports core/gateway",
		"plugins/lua imports core/admin",
		"plugins/lua imports core/cli",
		"plugins/requestsizelimit imports core/upstream",
		"plugins/requestsizelimit imports github.com/evil/module",
	}, "\n")
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
