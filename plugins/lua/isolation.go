package lua

import (
	"github.com/moongate/moongate/sdk"
	glua "github.com/yuin/gopher-lua"
)

// guard finishes a sandbox so that a call cannot change what the next
// call on the same state sees, and holds what each call resets.
//
//   - The shared tables (string, table, math, gw and its namespaces, the
//     step's conf) are read-only views (sdk.Views); the string metatable
//     is hidden (getmetatable("") is false); setmetatable accepts tables
//     only (in gopher-lua it would change the metatable of every number,
//     boolean or function); rawset, table.insert, table.remove and
//     table.sort refuse views, and next, pairs, ipairs, unpack, rawget,
//     table.concat, table.maxn and table.getn read through them.
//   - Script code runs with an environment of its own, env: reads fall
//     through to the globals (__index), writes land in env. What the main
//     chunk writes while a state loads is moved into the globals
//     (commit) and stays; what a call writes is dropped when the call
//     ends (endCall). `_G` is env.
//
// Upvalues (module-level locals) and the tables a script makes are its
// own: they live as long as the state, as in OpenResty and Kong.
type guard struct {
	L       *glua.LState
	views   *sdk.Views
	env     *glua.LTable
	envMeta *glua.LTable
	dirty   bool
	concat  *glua.LFunction
	// direct are the real tables of gw's namespaces, the hidden locals
	// of every chunk (direct.go).
	direct []glua.LValue
}

// newGuard finishes the sandbox L, whose globals already hold gw (a
// view, through sdk.Options.Views), print and require.
func newGuard(L *glua.LState, views *sdk.Views, mem *sdk.Budget) *guard {
	g := &guard{L: L, views: views, concat: L.NewFunction(concat(mem))}
	G := L.G.Global
	str := G.RawGetString("string").(*glua.LTable)
	chargeStringLib(L, str, mem)
	tbl := G.RawGetString("table").(*glua.LTable)
	wrap := func(t *glua.LTable, name string, f func(orig glua.LGFunction) glua.LGFunction) {
		t.RawSetString(name, L.NewFunction(f(t.RawGetString(name).(*glua.LFunction).GFunction)))
	}
	for _, name := range []string{"insert", "remove", "sort"} {
		wrap(tbl, name, g.refuseViews)
	}
	for _, name := range []string{"concat", "maxn", "getn"} {
		wrap(tbl, name, g.seeThrough)
	}
	for _, name := range []string{"next", "unpack"} {
		wrap(G, name, g.seeThrough)
	}
	// pairs and ipairs return gopher-lua's iterator (their upvalue) and
	// the real table, so the loop itself runs at full speed.
	for _, name := range []string{"pairs", "ipairs"} {
		iter := G.RawGetString(name).(*glua.LFunction).Upvalues[0].Value()
		start := glua.LValue(glua.LNil)
		if name == "ipairs" {
			start = glua.LNumber(0)
		}
		G.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			L.Push(iter)
			L.Push(g.views.Real(L.CheckTable(1)))
			L.Push(start)
			return 3
		}))
	}
	G.RawSetString("rawget", L.NewFunction(g.rawget))
	G.RawSetString("rawset", L.NewFunction(g.rawset))
	G.RawSetString("setmetatable", L.NewFunction(g.setmetatable))

	for _, name := range []string{"string", "table", "math"} {
		G.RawSetString(name, views.View(L, G.RawGetString(name).(*glua.LTable), name))
	}
	if mt, ok := L.GetMetatable(glua.LString("")).(*glua.LTable); ok {
		mt.RawSetString("__metatable", glua.LFalse)
	}

	g.env = L.NewTable()
	g.envMeta = L.CreateTable(0, 3)
	g.envMeta.RawSetString("__index", G)
	g.envMeta.RawSetString("__newindex", L.NewFunction(g.newGlobal))
	g.envMeta.RawSetString("__metatable", glua.LFalse)
	g.env.Metatable = g.envMeta
	G.RawSetString("_G", g.env)
	g.direct = wrapperArgs(L, views)
	return g
}

// chunk returns the main function of a script or module compiled by
// compile: it runs the wrapper with the state's concatenation function,
// in the guard's environment.
func (g *guard) chunk(p *glua.FunctionProto) *glua.LFunction {
	L := g.L
	outer := L.NewFunctionFromProto(p)
	outer.Env = g.env
	L.Push(outer)
	L.Push(g.concat)
	for _, t := range g.direct {
		L.Push(t)
	}
	L.Call(1+len(g.direct), 1)
	fn := L.Get(-1).(*glua.LFunction)
	L.Pop(1)
	return fn
}

// commit keeps what the state's loading wrote to its environment as
// globals of the state.
func (g *guard) commit() {
	G := g.L.G.Global
	g.env.ForEach(func(k, v glua.LValue) { G.RawSet(k, v) })
	g.endCall()
}

// endCall drops the globals the call wrote. A call that wrote none costs
// one branch.
func (g *guard) endCall() {
	if g.dirty {
		*g.env = glua.LTable{Metatable: g.envMeta}
		g.dirty = false
	}
}

// newGlobal is the environment's __newindex: the first write of a name
// in a call.
func (g *guard) newGlobal(L *glua.LState) int {
	k := L.CheckAny(2)
	refuseGW(L, k)
	g.dirty = true
	L.RawSet(g.env, k, L.CheckAny(3))
	return 0
}

// refuseGW raises when a script assigns the global gw, which the
// compiler reads directly (direct.go).
func refuseGW(L *glua.LState, k glua.LValue) {
	if s, ok := k.(glua.LString); ok && s == "gw" {
		L.RaiseError("attempt to modify read-only global 'gw'")
	}
}

// seeThrough returns orig called with the table behind a view as its
// first argument.
func (g *guard) seeThrough(orig glua.LGFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		if t, ok := L.Get(1).(*glua.LTable); ok {
			if r := g.views.Real(t); r != t {
				L.Replace(1, r)
			}
		}
		return orig(L)
	}
}

// refuseViews returns orig refusing a view as its first argument (and
// noting a raw write into the environment).
func (g *guard) refuseViews(orig glua.LGFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		if t, ok := L.Get(1).(*glua.LTable); ok {
			g.views.Check(L, t)
			if t == g.env {
				g.dirty = true
			}
		}
		return orig(L)
	}
}

// rawget reads through views; on the environment it falls back to the
// globals, as a plain read does.
func (g *guard) rawget(L *glua.LState) int {
	t := g.views.Real(L.CheckTable(1))
	k := L.CheckAny(2)
	v := t.RawGet(k)
	if v == glua.LNil && t == g.env {
		v = g.L.G.Global.RawGet(k)
	}
	L.Push(v)
	return 1
}

// rawset refuses views and locked tables.
func (g *guard) rawset(L *glua.LState) int {
	t := L.CheckTable(1)
	g.views.Check(L, t)
	if t == g.env {
		refuseGW(L, L.CheckAny(2))
		g.dirty = true
	}
	L.RawSet(t, L.CheckAny(2), L.CheckAny(3))
	return 0
}

// setmetatable is Lua 5.1's: tables only, and never over a protected
// metatable (views, the environment, gw.json's array marker).
func (g *guard) setmetatable(L *glua.LState) int {
	t := L.CheckTable(1)
	mt := L.Get(2)
	if mt != glua.LNil {
		L.CheckTable(2)
	}
	if m, ok := t.Metatable.(*glua.LTable); ok && m.RawGetString("__metatable") != glua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	t.Metatable = mt
	L.SetTop(1)
	return 1
}
