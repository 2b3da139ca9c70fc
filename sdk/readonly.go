package sdk

import (
	lua "github.com/yuin/gopher-lua"
)

// Views makes tables read-only for scripts, so that a request cannot
// change what the next request on the same Lua state sees (`string.upper
// = nil`, `gw.json = nil`, `conf.x = 1`).
//
// A view is an empty table whose metatable reads through to the real
// table (__index), refuses writes (__newindex raises "attempt to modify
// read-only table 'string'"), gives the real length (__len) and hides
// itself (__metatable = false, so getmetatable returns false and
// setmetatable refuses to replace it). Tables inside a viewed table are
// replaced by their views, so reading a field never yields a writable
// shared table. Functions that take tables apart in Go (pairs, next,
// ipairs, unpack, rawget, table.concat, gw.json.encode, ...) see the
// real table through Real; functions that write raw (rawset,
// table.insert, gw.json.array, ...) refuse views through Check.
//
// Views belong to one Lua state. A nil *Views protects nothing: Real
// returns its argument and Check accepts every table.
type Views struct {
	views    map[*lua.LTable]view
	byReal   map[*lua.LTable]*lua.LTable
	newindex *lua.LFunction
	length   *lua.LFunction
}

type view struct {
	real *lua.LTable
	name string
}

// NewViews returns the read-only machinery of the state L.
func NewViews(L *lua.LState) *Views {
	v := &Views{views: map[*lua.LTable]view{}, byReal: map[*lua.LTable]*lua.LTable{}}
	v.newindex = L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		L.RaiseError("attempt to modify read-only table '%s' (key '%s')", v.views[t].name, lua.LVAsString(L.Get(2)))
		return 0
	})
	v.length = L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(v.Real(L.CheckTable(1)).Len()))
		return 1
	})
	return v
}

// View returns the read-only view of t, named name in errors (made once
// per table). The tables t holds, at any depth, are replaced in t by
// their own views; t itself must not be reachable by scripts any more.
func (v *Views) View(L *lua.LState, t *lua.LTable, name string) *lua.LTable {
	if _, ok := v.views[t]; ok {
		return t
	}
	if p, ok := v.byReal[t]; ok {
		return p
	}
	p := L.NewTable()
	v.byReal[t] = p
	v.views[p] = view{real: t, name: name}
	var inner []lua.LValue
	t.ForEach(func(k, e lua.LValue) {
		if _, ok := e.(*lua.LTable); ok {
			inner = append(inner, k)
		}
	})
	for _, k := range inner {
		t.RawSet(k, v.View(L, t.RawGet(k).(*lua.LTable), name+"."+lua.LVAsString(k)))
	}
	mt := L.CreateTable(0, 4)
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", v.newindex)
	mt.RawSetString("__len", v.length)
	mt.RawSetString("__metatable", lua.LFalse)
	p.Metatable = mt
	return p
}

// Lock makes t itself read-only, for a table the VM reads raw and so
// cannot be replaced by a view: a metatable (gw.json's array marker).
// Its fields must be set before; t must have no metatable.
func (v *Views) Lock(L *lua.LState, t *lua.LTable, name string) {
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__newindex", v.newindex)
	mt.RawSetString("__metatable", lua.LFalse)
	t.Metatable = mt
	v.views[t] = view{real: t, name: name}
}

// Real returns the table a view shows, or t when it is not a view.
func (v *Views) Real(t *lua.LTable) *lua.LTable {
	if v == nil {
		return t
	}
	if _, ok := t.Metatable.(*lua.LTable); !ok {
		return t
	}
	if w, ok := v.views[t]; ok {
		return w.real
	}
	return t
}

// IsReadOnly reports whether t is a view or a locked table.
func (v *Views) IsReadOnly(t *lua.LTable) bool {
	if v == nil {
		return false
	}
	if _, ok := t.Metatable.(*lua.LTable); !ok {
		return false
	}
	_, ok := v.views[t]
	return ok
}

// Check raises an error blamed on the script when t is read-only: for
// functions that would write into t raw.
func (v *Views) Check(L *lua.LState, t *lua.LTable) {
	if v.IsReadOnly(t) {
		L.RaiseError("attempt to modify read-only table '%s'", v.views[t].name)
	}
}
