package lua

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
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

func poolBenchScriptStep(b *testing.B) (*Script, benchCtx, func()) {
	return poolBenchStep(b, poolBenchScript)
}

// benchCtx is a request on a one-step chain, served again and again.
type benchCtx struct {
	*plugin.Context
	chain *plugintest.Chain
}

func (c benchCtx) serve() { c.chain.Serve(c.Context) }

func poolBenchStep(b *testing.B, src string) (*Script, benchCtx, func()) {
	file := filepath.Join(b.TempDir(), "s.lua")
	os.WriteFile(file, []byte(src), 0o644)
	inst, err := New(plugin.Spec{Name: file, Path: "plugins[0]", Config: config.NewTable("plugins[0].config", nil)})
	if err != nil {
		b.Fatal(err)
	}
	sc := inst.(Step).Script
	var req fasthttp.Request
	req.SetRequestURI("/x")
	req.Header.Set("X-In", "v")
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil)
	// A chain whose only step is sc, so that its request phase runs.
	ch := chainOf(b, file, func(l *config.Lua) {
		// A deadline no call of a loaded machine reaches: a timeout
		// replaces the state, and creating one costs as much as 200 calls.
		l.Timeout = config.Duration(5 * time.Second)
	})
	c := benchCtx{ch.Context(fc), ch}
	return sc, c, func() { plugintest.Release(c.Context); ch.Close() }
}

// chainOf builds route "b" whose one step runs the script at file, with
// the [lua] settings set changes.
func chainOf(b *testing.B, file string, set func(*config.Lua)) *plugintest.Chain {
	cfg := config.Default()
	set(&cfg.Lua)
	ch, err := plugintest.NewChain(plugintest.Options{Config: cfg, Route: "b",
		Steps: []config.Step{{Script: file, Enabled: true, OnError: "fail"}}})
	if err != nil {
		b.Fatal(err)
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
		c.serve()
	}
}

// BenchmarkStepPooledLibraries is BenchmarkStepPooled with a script
// that reads library tables and globals and concatenates strings.
func BenchmarkStepPooledLibraries(b *testing.B) {
	_, c, done := poolBenchStep(b, poolBenchLibScript)
	defer done()
	c.serve()
	if got := string(c.Request.Header.Peek("X-Out")); got != "<V>1" {
		b.Fatalf("X-Out = %q", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.serve()
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
