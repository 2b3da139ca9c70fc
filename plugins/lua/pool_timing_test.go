package lua

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moongate/moongate/core/chain"
	"github.com/moongate/moongate/core/config"
	"github.com/valyala/fasthttp"
)

const poolBenchScript = `
local M = {}
function M.on_request(conf)
  local v = gw.request.get_header("X-In")
  gw.request.set_header("X-Out", "seen")
end
return M
`

// poolBenchLibScript uses what the sandbox guards: library tables (read
// through their read-only views), a global read, and concatenation
// (charged to the call's memory budget).
const poolBenchLibScript = `
local M = {}
function M.on_request(conf)
  local v = gw.request.get_header("X-In")
  gw.request.set_header("X-Out", "<" .. string.upper(v) .. ">" .. tostring(#v))
end
return M
`

func poolBenchScriptStep(b *testing.B) (*Script, *chain.Context, func()) {
	return poolBenchStep(b, poolBenchScript)
}

func poolBenchStep(b *testing.B, src string) (*Script, *chain.Context, func()) {
	file := filepath.Join(b.TempDir(), "s.lua")
	os.WriteFile(file, []byte(src), 0o644)
	inst, err := New(chain.Spec{Name: file, Path: "plugins[0]", Config: config.NewTable("plugins[0].config", nil)})
	if err != nil {
		b.Fatal(err)
	}
	sc := inst.(Step).Script
	var req fasthttp.Request
	req.SetRequestURI("/x")
	req.Header.Set("X-In", "v")
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil)
	c := chain.AcquireContext(fc)
	// A chain whose only step is sc, so that its request phase runs.
	route := &chain.Route{Name: "b", Chain: chainOf(b, file), Upstream: nil}
	c.Setup(route, -1, nil, nil, nil)
	return sc, c, func() { chain.ReleaseContext(c) }
}

// chainOf builds a one-step chain running the script at file.
func chainOf(b *testing.B, file string) *chain.Chain {
	cfg := config.Default()
	// A deadline no call of a loaded machine reaches: a timeout replaces
	// the state, and creating one costs as much as 200 calls.
	cfg.Lua.Timeout = config.Duration(5 * time.Second)
	cfg.Routes = []config.Route{{Name: "b", Paths: []string{"/"}, Plugins: []config.Step{{Script: file, Enabled: true, OnError: "fail"}}}}
	bl := chain.NewBuilder(&chain.Env{Config: cfg})
	ch := bl.Chain(0)
	if len(bl.Problems()) > 0 {
		b.Fatal(bl.Problems())
	}
	return ch
}

// BenchmarkStepPooled is one call of a trivial script's on_request on a
// warm pooled state: the way the gateway runs scripts.
func BenchmarkStepPooled(b *testing.B) {
	_, c, done := poolBenchScriptStep(b)
	defer done()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Route.Serve(c)
	}
}

// BenchmarkStepPooledLibraries is BenchmarkStepPooled with a script
// that reads library tables and globals and concatenates strings.
func BenchmarkStepPooledLibraries(b *testing.B) {
	_, c, done := poolBenchStep(b, poolBenchLibScript)
	defer done()
	c.Route.Serve(c)
	if got := string(c.Request.Header.Peek("X-Out")); got != "<V>1" {
		b.Fatalf("X-Out = %q", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Route.Serve(c)
	}
}

// BenchmarkStepNewStatePerRequest creates a fresh state (sandbox, SDK,
// main chunk; the script is still compiled once) for every call, as
// gateways without a pool do.
func BenchmarkStepNewStatePerRequest(b *testing.B) {
	sc, _, done := poolBenchScriptStep(b)
	defer done()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := sc.newState()
		if err != nil {
			b.Fatal(err)
		}
		st.L.Close()
	}
}

// BenchmarkStepParseAndNewStatePerRequest also parses and compiles the
// script on every call (what KrakenD's Lua does).
func BenchmarkStepParseAndNewStatePerRequest(b *testing.B) {
	sc, _, done := poolBenchScriptStep(b)
	defer done()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := compileFile(sc.path)
		if err != nil {
			b.Fatal(err)
		}
		sc.proto = p
		st, err := sc.newState()
		if err != nil {
			b.Fatal(err)
		}
		st.L.Close()
	}
}
