package lua

import (
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// The typical uses of patterns in a script, run through the sandbox's
// string functions and through gopher-lua's own, side by side.
var patternBenchmarks = []struct {
	name, fn string
	args     []glua.LValue
}{
	{"match digits", "match", []glua.LValue{glua.LString("order 12345 shipped"), glua.LString("%d+")}},
	{"match api path", "match", []glua.LValue{glua.LString("/api/users/42"), glua.LString("^/api/(%w+)")}},
	{"find key=value", "find", []glua.LValue{glua.LString("user=alice; role=admin"), glua.LString("(%w+)=(%w+)")}},
	{"trim", "match", []glua.LValue{glua.LString("  hello world  "), glua.LString("^%s*(.-)%s*$")}},
	{"gsub template", "gsub", []glua.LValue{glua.LString("Hello ${name}, your order ${id} ships ${day}."),
		glua.LString("%${(%w+)}"), nil}},
}

func benchPatterns(b *testing.B, L *glua.LState) {
	vars := L.NewTable()
	vars.RawSetString("name", glua.LString("Ada"))
	vars.RawSetString("id", glua.LString("42"))
	vars.RawSetString("day", glua.LString("Monday"))
	for _, bc := range patternBenchmarks {
		b.Run(bc.name, func(b *testing.B) {
			fn := L.GetField(L.GetGlobal("string"), bc.fn)
			args := append([]glua.LValue(nil), bc.args...)
			for i, a := range args {
				if a == nil {
					args[i] = vars
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				L.Push(fn)
				for _, a := range args {
					L.Push(a)
				}
				L.Call(len(args), glua.MultRet)
				L.SetTop(0)
			}
		})
	}
}

// BenchmarkPatterns is the sandbox's string functions (package pattern).
func BenchmarkPatterns(b *testing.B) {
	L := newSandbox(1<<20, nil)
	defer L.Close()
	benchPatterns(b, L)
}

// BenchmarkPatternsGopherLua is the baseline: gopher-lua's own string
// functions, which cannot be stopped at a deadline.
func BenchmarkPatternsGopherLua(b *testing.B) {
	L := glua.NewState()
	defer L.Close()
	benchPatterns(b, L)
}
