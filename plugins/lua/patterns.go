package lua

import (
	"errors"
	"strings"

	"github.com/moongate/moongate/plugins/lua/pattern"
	glua "github.com/yuin/gopher-lua"
)

// patterns are the string functions that match Lua patterns:
// string.find, match, gmatch (and its old name gfind) and gsub. They run
// on package pattern, which charges the call's instruction budget and
// checks its deadline as it matches: gopher-lua's own run each search to
// completion, however long that takes. One value serves one Lua state.
type patterns struct {
	lim    limiter
	budget pattern.Budget
	// m is the match of find and match, which run no Lua code while
	// they use it. gsub and gmatch have their own: a replacement
	// function or the body of a for loop may call find in between.
	m pattern.Match
}

// patternCharge is what pattern.CheckEvery steps of matching cost the
// call's instruction budget: a step (a byte compared, an alternative or
// a start position tried, 2-11 ns measured) is about a quarter of a VM
// instruction (10-35 ns), so that the budget bounds the CPU time of a
// search about as it bounds a Lua loop's.
const patternCharge = pattern.CheckEvery / 4

// specials are the bytes that make a pattern more than a plain string.
const specials = "^$*+?.([%-)"

// openPatterns replaces the pattern functions of the string table str
// (which is also the string metatable's __index, so s:match(...) gets
// them too).
func openPatterns(L *glua.LState, str *glua.LTable, lim limiter) {
	p := &patterns{lim: lim}
	p.budget.Check = func() error {
		if w, ok := L.Context().(*watchdog); ok {
			w.charge(patternCharge)
		}
		if ctx := L.Context(); ctx != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			default:
			}
		}
		return nil
	}
	gmatch := L.NewFunction(p.gmatch)
	str.RawSetString("find", L.NewFunction(p.find))
	str.RawSetString("match", L.NewFunction(p.match))
	str.RawSetString("gmatch", gmatch)
	str.RawSetString("gfind", gmatch)
	str.RawSetString("gsub", L.NewFunction(p.gsub))
}

// startIndex turns a Lua init argument (1-based, negative from the end)
// into a byte offset; an offset past len means no match.
func startIndex(length, init int) int {
	if init < 0 {
		init += length + 1
	}
	return max(init, 1) - 1
}

// compile compiles src for function fn, raising its errors as Lua errors.
func (p *patterns) compile(L *glua.LState, fn, src string) *pattern.Pattern {
	pat, err := pattern.Compile(src, &p.budget)
	if err != nil {
		raise(L, fn, err)
	}
	return pat
}

// search runs one search of pat in s from init into m, raising its
// errors as Lua errors.
func (p *patterns) search(L *glua.LState, fn string, pat *pattern.Pattern, s string, init int, m *pattern.Match) bool {
	found, err := pat.Find(s, init, &p.budget, m)
	if err != nil {
		raise(L, fn, err)
	}
	return found
}

// raise raises err as a Lua error: a pattern's error as Lua would word
// it, anything else (the deadline) naming the function fn it stopped.
func raise(L *glua.LState, fn string, err error) {
	var pe *pattern.Error
	if errors.As(err, &pe) {
		L.RaiseError("%s", pe.Msg)
	}
	L.RaiseError("%s: %s", fn, err.Error())
}

// capture returns capture i of m in s as a Lua value: a string, or the
// 1-based position of a position capture.
func capture(s string, m *pattern.Match, i int) glua.LValue {
	start, end, isPosition := m.Capture(i)
	if isPosition {
		return glua.LNumber(start + 1)
	}
	return glua.LString(s[start:end])
}

// pushCaptures pushes the captures of m, or the whole match when there
// are none and whole is set, and returns how many values it pushed.
func pushCaptures(L *glua.LState, s string, m *pattern.Match, whole bool) int {
	n := m.Captures()
	if n == 0 {
		if !whole {
			return 0
		}
		L.Push(glua.LString(s[m.Start:m.End]))
		return 1
	}
	for i := 0; i < n; i++ {
		L.Push(capture(s, m, i))
	}
	return n
}

// find is string.find(s, pattern [, init [, plain]]).
func (p *patterns) find(L *glua.LState) int {
	s := L.CheckString(1)
	src := L.CheckString(2)
	init := startIndex(len(s), L.OptInt(3, 1))
	if L.ToBool(4) || !strings.ContainsAny(src, specials) {
		if init > len(s) {
			L.Push(glua.LNil)
			return 1
		}
		i := strings.Index(s[init:], src)
		if i < 0 {
			L.Push(glua.LNil)
			return 1
		}
		L.Push(glua.LNumber(init + i + 1))
		L.Push(glua.LNumber(init + i + len(src)))
		return 2
	}
	pat := p.compile(L, "string.find", src)
	if !p.search(L, "string.find", pat, s, init, &p.m) {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(glua.LNumber(p.m.Start + 1))
	L.Push(glua.LNumber(p.m.End))
	return 2 + pushCaptures(L, s, &p.m, false)
}

// match is string.match(s, pattern [, init]).
func (p *patterns) match(L *glua.LState) int {
	s := L.CheckString(1)
	pat := p.compile(L, "string.match", L.CheckString(2))
	init := startIndex(len(s), L.OptInt(3, 1))
	if !p.search(L, "string.match", pat, s, init, &p.m) {
		L.Push(glua.LNil)
		return 1
	}
	return pushCaptures(L, s, &p.m, true)
}

// gmatch is string.gmatch(s, pattern): an iterator over the matches,
// each search made when the iterator is called. As in gopher-lua, a
// pattern starting with '^' matches at most once, at the start.
func (p *patterns) gmatch(L *glua.LState) int {
	s := L.CheckString(1)
	pat := p.compile(L, "string.gmatch", L.CheckString(2))
	m := new(pattern.Match)
	pos, done := 0, false
	L.Push(L.NewFunction(func(L *glua.LState) int {
		if done || pos > len(s) {
			return 0
		}
		if !p.search(L, "string.gmatch", pat, s, pos, m) {
			done = true
			return 0
		}
		done = pat.Anchored()
		pos = max(m.Start+1, m.End)
		return pushCaptures(L, s, m, true)
	}))
	return 1
}

// gsub is string.gsub(s, pattern, repl [, n]), building its result under
// max_string_size. A negative n replaces every match, as gopher-lua did.
func (p *patterns) gsub(L *glua.LState) int {
	s := L.CheckString(1)
	src := L.CheckString(2)
	L.CheckTypes(3, glua.LTString, glua.LTNumber, glua.LTTable, glua.LTFunction)
	repl := L.Get(3)
	limit := L.OptInt(4, -1)
	pat := p.compile(L, "string.gsub", src)
	var m pattern.Match
	var out strings.Builder
	count, last, pos := 0, 0, 0
	for (limit < 0 || count < limit) && pos <= len(s) {
		if !p.search(L, "string.gsub", pat, s, pos, &m) {
			break
		}
		count++
		p.lim.check(L, "string.gsub", out.Len()+m.Start-last)
		out.WriteString(s[last:m.Start])
		whole := s[m.Start:m.End]
		var piece string
		switch r := repl.(type) {
		case glua.LString, glua.LNumber:
			piece = p.expand(L, glua.LVAsString(r), s, &m, out.Len())
		case *glua.LTable:
			key := glua.LValue(glua.LString(whole))
			if m.Captures() > 0 {
				key = capture(s, &m, 0)
			}
			piece = replacement(L, L.GetTable(r, key), whole)
		case *glua.LFunction:
			L.Push(r)
			nargs := pushCaptures(L, s, &m, true)
			L.Call(nargs, 1)
			piece = replacement(L, L.Get(-1), whole)
			L.Pop(1)
		}
		p.lim.check(L, "string.gsub", out.Len()+len(piece))
		out.WriteString(piece)
		last = m.End
		pos = max(m.Start+1, m.End)
		if pat.Anchored() {
			break
		}
	}
	if count == 0 {
		L.Push(glua.LString(s))
		L.Push(glua.LNumber(0))
		return 2
	}
	p.lim.check(L, "string.gsub", out.Len()+len(s)-last)
	out.WriteString(s[last:])
	L.Push(glua.LString(out.String()))
	L.Push(glua.LNumber(count))
	return 2
}

// expand returns the replacement string rs for match m of s: %0 is the
// whole match, %1 to %9 the captures (%1 is the whole match when the
// pattern has none), '%' before anything else stands for that byte. The
// result is capped so that done bytes plus it stay under max_string_size.
func (p *patterns) expand(L *glua.LState, rs, s string, m *pattern.Match, done int) string {
	if strings.IndexByte(rs, '%') < 0 {
		return rs
	}
	var b strings.Builder
	for k := 0; k < len(rs); k++ {
		c := rs[k]
		if c != '%' || k+1 == len(rs) {
			b.WriteByte(c)
			continue
		}
		k++
		switch d := rs[k]; {
		case d == '0' || d == '1' && m.Captures() == 0:
			b.WriteString(s[m.Start:m.End])
		case d >= '1' && d <= '9':
			i := int(d - '1')
			if i >= m.Captures() {
				L.RaiseError("invalid capture index %%%c in replacement string", d)
			}
			b.WriteString(glua.LVAsString(capture(s, m, i)))
		default:
			b.WriteByte(d)
		}
		p.lim.check(L, "string.gsub", done+b.Len())
	}
	return b.String()
}
