package sdk

import (
	lua "github.com/yuin/gopher-lua"
)

// Budget is the memory one script call may build (lua.max_memory).
// gopher-lua has no allocator hook, so the places that build strings
// and tables charge it instead: the `..` operator (rewritten into a
// charged call when a script is compiled), the string and table library
// functions that build strings, and every gw.* function (the strings it
// returns, the tables it builds). Every byte built counts, garbage
// included, so the total bounds what a call can add to the process's
// memory, whatever the garbage collector does.
//
// A nil *Budget charges nothing. A Budget belongs to one Lua state and
// is used by one goroutine at a time, like the state.
type Budget struct {
	limit    int
	used     int
	exceeded bool
	msg      string
}

// NewBudget returns a budget of limit bytes per call; msg is the error
// a call over it raises ("memory limit exceeded (lua.max_memory = 32MB)").
func NewBudget(limit int, msg string) *Budget {
	return &Budget{limit: limit, msg: msg}
}

// Charge counts n bytes about to be built, or just built, by the
// current call, and raises a Lua error (blamed on the script's line)
// when the call's total passes the limit. Once passed, every later
// charge of the call fails too, so a script cannot catch the error with
// pcall and go on building.
func (b *Budget) Charge(L *lua.LState, n int) {
	if b == nil {
		return
	}
	if n < 0 || n > b.limit-b.used {
		b.used = b.limit
		b.exceeded = true
		L.RaiseError("%s", b.msg)
	}
	b.used += n
}

// Check raises the budget's error, charging nothing, unless n more bytes
// fit: for results that are charged once built (the strings gw.*
// functions return), so that a large one is refused before it is made.
func (b *Budget) Check(L *lua.LState, n int) {
	if b != nil && (n < 0 || n > b.limit-b.used) {
		b.Charge(L, n)
	}
}

// Reset starts a new call with nothing used.
func (b *Budget) Reset() {
	if b != nil {
		b.used, b.exceeded = 0, false
	}
}

// Exceeded reports whether the current call passed the limit.
func (b *Budget) Exceeded() bool { return b != nil && b.exceeded }

// Used returns the bytes the current call has built so far.
func (b *Budget) Used() int {
	if b == nil {
		return 0
	}
	return b.used
}

// Costs charged for what gw.* functions build besides string bytes: a
// table, and each of its entries (gopher-lua keeps string keys in a map,
// a key list and an index map). They are rounded up from what
// gopher-lua allocates on amd64.
const (
	TableCost = 128
	EntryCost = 96
)

// chargeResults charges the strings among the n values a binding
// returned (on top of the stack).
func (s *State) chargeResults(L *lua.LState, n int) {
	if s.opts.Budget == nil {
		return
	}
	for i := 1; i <= n; i++ {
		if str, ok := L.Get(-i).(lua.LString); ok && len(str) > 0 {
			s.opts.Budget.Charge(L, len(str))
		}
	}
}

// tableCost is what ToLua builds for the lists and maps in v, beyond
// the strings it holds (which Lua shares with Go).
func tableCost(v any, depth int) int {
	if depth > maxDepth {
		return 0
	}
	n := 0
	switch x := v.(type) {
	case map[string]any:
		n = TableCost + len(x)*EntryCost
		for _, e := range x {
			n += tableCost(e, depth+1)
		}
	case []any:
		n = TableCost + len(x)*EntryCost
		for _, e := range x {
			n += tableCost(e, depth+1)
		}
	case []map[string]any:
		n = TableCost + len(x)*EntryCost
		for _, e := range x {
			n += tableCost(e, depth+1)
		}
	}
	return n
}
