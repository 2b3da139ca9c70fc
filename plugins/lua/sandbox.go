package lua

import (
	"strings"

	"github.com/moongate/moongate/sdk"
	glua "github.com/yuin/gopher-lua"
)

// The Lua state's limits that gopher-lua enforces itself: a script that
// recurses deeper than callStackSize frames, or needs more than
// registryMaxSize stack slots, gets an error ("stack overflow",
// "registry overflow"), not a crash.
const (
	callStackSize   = 200
	registrySize    = 1024
	registryMaxSize = 128 * 1024
	registryStep    = 1024
)

// removed are the base functions a script may not use: they load code
// (from files, strings or bytecode), reach other functions'
// environments, or stop the whole process (collectgarbage runs a full GC).
var removed = []string{"dofile", "loadfile", "load", "loadstring", "getfenv", "setfenv",
	"module", "require", "newproxy", "_printregs", "collectgarbage", "print"}

// newSandbox returns a Lua state with only base, string, table and math,
// with every library function that can build a large string capped at
// maxString bytes and charged to mem (see guard for the rest), and with
// pattern matching that stops at the call's instruction budget or
// deadline (patterns.go).
func newSandbox(maxString int, mem *sdk.Budget) *glua.LState {
	L := glua.NewState(glua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    callStackSize,
		RegistrySize:     registrySize,
		RegistryMaxSize:  registryMaxSize,
		RegistryGrowStep: registryStep,
	})
	for _, lib := range []struct {
		name string
		open glua.LGFunction
	}{{glua.BaseLibName, glua.OpenBase}, {glua.TabLibName, glua.OpenTable},
		{glua.StringLibName, glua.OpenString}, {glua.MathLibName, glua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	for _, name := range removed {
		g.RawSetString(name, glua.LNil)
	}
	lim := limiter{max: maxString, mem: mem}
	str := g.RawGetString("string").(*glua.LTable)
	str.RawSetString("dump", glua.LNil)
	format := str.RawGetString("format").(*glua.LFunction).GFunction
	str.RawSetString("rep", L.NewFunction(lim.rep))
	str.RawSetString("format", L.NewFunction(func(L *glua.LState) int { return lim.format(L, format) }))
	openPatterns(L, str, lim)
	tbl := g.RawGetString("table").(*glua.LTable)
	tbl.RawSetString("concat", L.NewFunction(lim.concat))
	return L
}

// limiter holds the capped versions of the string builders. mem is the
// memory budget of the running call: a builder charges what it is about
// to build, before building it.
type limiter struct {
	max int
	mem *sdk.Budget
}

func (lim limiter) check(L *glua.LState, what string, n int) {
	if n > lim.max || n < 0 {
		L.RaiseError("%s: result would exceed max_string_size (%d bytes)", what, lim.max)
	}
}

func (lim limiter) rep(L *glua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	if n <= 0 || s == "" {
		L.Push(glua.LString(""))
		return 1
	}
	if n > lim.max/len(s) {
		lim.check(L, "string.rep", lim.max+1)
	}
	lim.mem.Charge(L, len(s)*n)
	L.Push(glua.LString(strings.Repeat(s, n)))
	return 1
}

// format refuses widths and precisions over two digits (as Lua 5.1
// does) and results that could exceed the cap, then formats.
func (lim limiter) format(L *glua.LState, orig glua.LGFunction) int {
	f := L.CheckString(1)
	bound := len(f)
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		digits := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i, digits = i+1, digits+1
		}
		if i < len(f) && f[i] == '.' {
			i++
			prec := 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i, prec = i+1, prec+1
			}
			digits = max(digits, prec)
		}
		if digits > 2 {
			L.RaiseError("invalid format (width or precision too long)")
		}
		bound += 128
	}
	for i := 2; i <= L.GetTop(); i++ {
		if s, ok := L.Get(i).(glua.LString); ok {
			bound += len(s)
		}
	}
	lim.check(L, "string.format", bound)
	lim.mem.Charge(L, bound)
	return orig(L)
}

func (lim limiter) concat(L *glua.LState) int {
	tbl := L.CheckTable(1)
	sep := L.OptString(2, "")
	n := tbl.Len()
	i := L.OptInt(3, 1)
	j := L.OptInt(4, n)
	// Measured first, so that the result is charged and allocated once.
	total := 0
	for k := i; k <= j; k++ {
		v := tbl.RawGetInt(k)
		switch x := v.(type) {
		case glua.LString:
			total += len(x)
		case glua.LNumber:
			total += len(x.String())
		default:
			L.RaiseError("invalid value (%s) at index %d in table for concat", v.Type().String(), k)
		}
		if k > i {
			total += len(sep)
		}
		lim.check(L, "table.concat", total)
	}
	lim.mem.Charge(L, total)
	var b strings.Builder
	b.Grow(total)
	for k := i; k <= j; k++ {
		if k > i {
			b.WriteString(sep)
		}
		b.WriteString(glua.LVAsString(tbl.RawGetInt(k)))
	}
	L.Push(glua.LString(b.String()))
	return 1
}

// replacement is what a table or function replacement in gsub yields:
// false or nil keeps the match, a string or number replaces it.
func replacement(L *glua.LState, v glua.LValue, whole string) string {
	switch x := v.(type) {
	case *glua.LNilType:
		return whole
	case glua.LBool:
		if !bool(x) {
			return whole
		}
	case glua.LString:
		return string(x)
	case glua.LNumber:
		return x.String()
	}
	L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	return ""
}

// validModule reports whether name is a module name require accepts:
// dotted identifiers, so that it can only name a file inside the
// scripts folder.
func validModule(name string) bool {
	if name == "" || len(name) > 200 {
		return false
	}
	for _, part := range strings.Split(name, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
