package lua

import (
	glua "github.com/yuin/gopher-lua"
)

// sizer estimates the memory a Lua state keeps between calls: what is
// reachable from its globals, its registry (loaded modules), the string
// metatable and the script's module table, upvalues included. The
// estimate counts string bytes and a fixed cost per table slot, function
// and upvalue; it stops as soon as it passes the limit.
type sizer struct {
	// skip reports tables not to count: the sandbox's read-only views
	// (libraries, gw, conf), which are the same in every state and
	// never grow.
	skip   func(*glua.LTable) bool
	limit  int
	total  int
	tables map[*glua.LTable]struct{}
	funcs  map[*glua.LFunction]struct{}
}

const (
	tableCost    = 64
	slotCost     = 40
	functionCost = 64
	stringCost   = 16
)

// over reports whether what is reachable from roots exceeds the limit,
// and the estimate (up to where it stopped).
func (z *sizer) over(roots ...glua.LValue) (bool, int) {
	if z.tables == nil {
		z.tables = map[*glua.LTable]struct{}{}
		z.funcs = map[*glua.LFunction]struct{}{}
	}
	clear(z.tables)
	clear(z.funcs)
	z.total = 0
	for _, r := range roots {
		if z.walk(r) {
			return true, z.total
		}
	}
	return false, z.total
}

// walk adds v and what it reaches; true once over the limit.
func (z *sizer) walk(v glua.LValue) bool {
	switch x := v.(type) {
	case glua.LString:
		z.total += stringCost + len(x)
	case *glua.LTable:
		if _, seen := z.tables[x]; seen {
			return false
		}
		if z.skip != nil && z.skip(x) {
			return false
		}
		z.tables[x] = struct{}{}
		z.total += tableCost
		stop := false
		x.ForEach(func(k, e glua.LValue) {
			if stop {
				return
			}
			z.total += slotCost
			stop = z.walk(k) || z.walk(e) || z.total > z.limit
		})
		if stop {
			return true
		}
		if x.Metatable != nil && x.Metatable != glua.LNil {
			return z.walk(x.Metatable)
		}
	case *glua.LFunction:
		if x.IsG && len(x.Upvalues) == 0 && x.Env == nil {
			// A library function: nothing behind it to count, and no need
			// to remember it (most of a state's values are these).
			z.total += functionCost
			return false
		}
		if _, seen := z.funcs[x]; seen {
			return false
		}
		z.funcs[x] = struct{}{}
		z.total += functionCost
		for _, uv := range x.Upvalues {
			z.total += slotCost
			if uv != nil && z.walk(uv.Value()) {
				return true
			}
		}
		if x.Env != nil && z.walk(x.Env) {
			return true
		}
	case *glua.LUserData:
		z.total += functionCost
		if x.Metatable != nil && x.Metatable != glua.LNil && z.walk(x.Metatable) {
			return true
		}
	}
	return z.total > z.limit
}
