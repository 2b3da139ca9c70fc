package lua

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// loopScript runs a tight numeric loop of 100 000 iterations per call:
// FORLOOP and ADD, two VM instructions an iteration (200 000 a call,
// plus a handful around the loop).
const loopScript = `
local M = {}
function M.on_request(conf)
  local x = 0
  for i = 1, 100000 do x = x + i end
end
return M
`

// processCPU returns the CPU time (user and system) the process used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVMInstructions measures what one VM instruction costs under
// the call's watchdog, which counts it: the loop above, reported per
// instruction, in wall-clock and CPU time (the process's: it includes
// the garbage collector's work for the numbers the loop boxes).
func BenchmarkVMInstructions(b *testing.B) {
	_, c, done := poolBenchStep(b, loopScript)
	defer done()
	c.serve()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		c.serve()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200000, "ns/instruction")
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N)/200000, "cpu-ns/instruction")
}

// BenchmarkWatchdogDone is the check gopher-lua makes before every
// instruction, through the context interface as the VM makes it: the
// counting costs this much per instruction.
func BenchmarkWatchdogDone(b *testing.B) {
	w := newWatchdog()
	w.arm(time.Hour, unlimited)
	defer w.disarm()
	var ctx context.Context = w
	b.ReportAllocs()
	for b.Loop() {
		select {
		case <-ctx.Done():
			b.Fatal("stopped")
		default:
		}
	}
}

// BenchmarkRunawayLoop is an infinite loop stopped by an instruction
// budget of 10 000 000 (ten times the default): how long, in
// wall-clock and CPU time, a call that spends its whole budget on the
// cheapest instruction (a jump) takes. Each call also replaces its
// state (about 0.3 ms).
func BenchmarkRunawayLoop(b *testing.B) {
	_, c, done := poolBenchStepWith(b, `return { on_request = function() while true do end end }`, func(l *config.Lua) {
		l.MaxInstructions = 10_000_000
		l.Timeout = config.Duration(30 * time.Second)
	})
	defer done()
	// Each call logs its failure through the default logger.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		c.serve()
		if c.Response.StatusCode() != 500 {
			b.Fatalf("got %d, want 500", c.Response.StatusCode())
		}
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// poolBenchStepWith is poolBenchStep's context on a one-step chain
// whose [lua] settings set changes.
func poolBenchStepWith(b *testing.B, src string, set func(*config.Lua)) (*Script, benchCtx, func()) {
	file := filepath.Join(b.TempDir(), "s.lua")
	os.WriteFile(file, []byte(src), 0o644)
	ch := chainOf(b, file, set)
	var req fasthttp.Request
	req.SetRequestURI("/x")
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil)
	c := benchCtx{ch.Context(fc), ch}
	return nil, c, func() { plugintest.Release(c.Context); ch.Close() }
}
