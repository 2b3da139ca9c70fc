package lua

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// countdown is a context whose Done channel closes at its n-th call:
// gopher-lua calls Done before every VM instruction and the matcher at
// every check, so a call that runs too long is stopped after a number of
// steps, never after a time.
type countdown struct {
	left int
	done chan struct{}
}

var errCountdown = errors.New("countdown: out of steps")

func newCountdown(n int) *countdown { return &countdown{left: n, done: make(chan struct{})} }

func (c *countdown) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *countdown) Value(any) any               { return nil }
func (c *countdown) Done() <-chan struct{} {
	if c.left--; c.left == 0 {
		close(c.done)
	}
	return c.done
}
func (c *countdown) Err() error {
	select {
	case <-c.done:
		return errCountdown
	default:
		return nil
	}
}

// diffHelpers are defined in both states of the comparison.
const diffHelpers = `
function gmatch_all(s, p)
  local out = {}
  local it, st = string.gmatch(s, p)
  for i = 1, 100 do
    local r = { n = 0 }
    local function pack(...)
      r.n = select('#', ...)
      for k = 1, r.n do r[k] = (select(k, ...)) end
    end
    pack(it(st, nil))
    if r.n == 0 or r[1] == nil then break end
    local parts = {}
    for k = 1, r.n do parts[k] = type(r[k]) .. "=" .. tostring(r[k]) end
    out[#out + 1] = "(" .. table.concat(parts, ",") .. ")"
  end
  return table.concat(out)
end
repl_fn = function(...)
  local n = select('#', ...)
  if (...) == "b" then return nil end
  if (...) == "c" then return false end
  local o = {}
  for i = 1, n do
    local v = select(i, ...)
    o[i] = type(v) .. ":" .. tostring(v)
  end
  return "<" .. table.concat(o, "|") .. ">"
end
repl_tbl = { a = "A", b = false, ["a b"] = 7, [1] = "one", [2] = 2 }
`

// differ runs the same calls through gopher-lua's own string library
// and through the sandbox's.
type differ struct {
	ref, mine *glua.LState
	budget    *countdown
}

// diffBudget is how many Done calls a case may make in the sandbox
// (about a thousand matching steps each) before it is skipped as too
// slow to run through gopher-lua's unbounded matcher.
const diffBudget = 2000

func newDiffer(t testing.TB) *differ {
	d := &differ{ref: glua.NewState(), mine: newSandbox(1<<20, nil)}
	for _, L := range []*glua.LState{d.ref, d.mine} {
		if err := L.DoString(diffHelpers); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *differ) close() { d.ref.Close(); d.mine.Close() }

// result is the outcome of one call, values or an error.
type result struct {
	values []string
	err    string
}

func (r result) String() string {
	if r.err != "" {
		return "error: " + r.err
	}
	return strings.Join(r.values, ", ")
}

func showValue(v glua.LValue) string {
	switch x := v.(type) {
	case glua.LString:
		return fmt.Sprintf("%q", string(x))
	case glua.LNumber:
		return x.String()
	default:
		return v.String()
	}
}

// call runs fn (a global path such as "string.find") with args on L.
func call(L *glua.LState, fn string, args ...glua.LValue) result {
	L.SetTop(0)
	var f glua.LValue = L.G.Global
	for _, part := range strings.Split(fn, ".") {
		f = L.GetField(f, part)
	}
	L.Push(f)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), glua.MultRet, nil); err != nil {
		return result{err: errorText(err)}
	}
	r := result{values: []string{}}
	for i := 1; i <= L.GetTop(); i++ {
		r.values = append(r.values, showValue(L.Get(i)))
	}
	L.SetTop(0)
	return r
}

// diffCase is one call of a pattern function.
type diffCase struct {
	fn   string // find, match, gmatch, gsub
	s, p string
	init glua.LValue // find, match
	repl glua.LValue // gsub (a string, or the global repl_fn / repl_tbl by name)
	n    glua.LValue // gsub
}

func (c diffCase) String() string {
	switch c.fn {
	case "gsub":
		return fmt.Sprintf("string.gsub(%q, %q, %v, %v)", c.s, c.p, c.repl, c.n)
	case "gmatch":
		return fmt.Sprintf("string.gmatch(%q, %q)", c.s, c.p)
	}
	return fmt.Sprintf("string.%s(%q, %q, %v)", c.fn, c.s, c.p, c.init)
}

func (d *differ) run(L *glua.LState, c diffCase) result {
	args := []glua.LValue{glua.LString(c.s), glua.LString(c.p)}
	switch c.fn {
	case "gmatch":
		return call(L, "gmatch_all", args...)
	case "gsub":
		repl := c.repl
		if name, ok := repl.(glua.LString); ok && (name == "repl_fn" || name == "repl_tbl") {
			repl = L.GetGlobal(string(name))
		}
		return call(L, "string.gsub", append(args, repl, c.n)...)
	}
	return call(L, "string."+c.fn, append(args, c.init)...)
}

// compare runs c in both states. skipped reports a case left out (too
// slow, or a known gopher-lua defect); otherwise problem is "" when the
// results agree.
func (d *differ) compare(c diffCase) (problem string, skipped bool) {
	d.budget = newCountdown(diffBudget)
	d.mine.SetContext(d.budget)
	mine := d.run(d.mine, c)
	d.mine.RemoveContext()
	if strings.Contains(mine.err, errCountdown.Error()) {
		return "", true
	}
	if strings.Contains(mine.err, "runtime error") {
		return fmt.Sprintf("%v: the sandbox failed with a Go panic: %v", c, mine), false
	}
	if c.fn == "find" && c.p == "" {
		// gopher-lua's string.find answers 1, 0 to an empty pattern
		// whatever init says (TestPatternFunctions has Lua 5.1's answer).
		return "", true
	}
	ref := d.run(d.ref, c)
	switch {
	case strings.Contains(ref.err, "runtime error"), strings.Contains(ref.err, "too complex"):
		// gopher-lua crashed on a slice bound or gave up at its recursion
		// limit: nothing to compare with.
		return "", true
	case ref.err != "" && mine.err != "":
		return "", false
	case mine.err != "" && allowedStricter(c.p, mine.err):
		return "", true
	case c.fn == "match" && ref.err == "" && len(ref.values) == 0:
		// gopher-lua's string.match returns nothing at all when nothing
		// matches; Lua 5.1 (and the sandbox) return nil.
		ref.values = []string{"nil"}
	}
	if ref.String() != mine.String() {
		return fmt.Sprintf("%v:\n  got  %v\n  want %v (gopher-lua)", c, mine, ref), false
	}
	return "", false
}

// allowedStricter reports whether the sandbox may raise err for pattern p
// where gopher-lua does not: p is malformed for Lua 5.1 and gopher-lua
// matches it in some undefined way, or p is past the sandbox's limits.
func allowedStricter(p, err string) bool {
	trailing := len(p) - len(strings.TrimRight(p, "%"))
	switch {
	case strings.Contains(err, "malformed pattern (ends with '%')"):
		return trailing%2 == 1
	case strings.Contains(err, "missing arguments to '%b'"):
		return strings.Contains(p, "%b")
	case strings.Contains(err, "missing '[' after '%f'"):
		return strings.Contains(p, "%f")
	case strings.Contains(err, "invalid capture index"):
		return strings.ContainsAny(p, "123456789")
	case strings.Contains(err, "too many captures"):
		return strings.Count(p, "(") > 32
	case strings.Contains(err, "pattern too complex"):
		return true
	}
	return false
}

// The hand-written cases: every feature of Lua 5.1 patterns, with the
// edge cases of each.
var diffSubjects = []string{"", "a", "hello world", "  trim me  ", "THE (quick) fox", "key=value; k2 = v2",
	"a,b,,c", "f(a(b)c)d", "x = 10, y = -3.5e2", "/api/users/42?x=1", "\x00a\x00", "aaa", "abab", "[]-^$%."}

var diffPatterns = []string{
	// single characters and classes
	"a", "l", "o w", ".", "..", "%a", "%A", "%c", "%C", "%d", "%D", "%l", "%L", "%p", "%P", "%s", "%S",
	"%u", "%U", "%w", "%W", "%x", "%X", "%z", "%Z", "%%", "%.", "%-", "%[", "%]", "%(", "%^", "%$", "%g", "%G",
	"]", "^", "$", "a$b", "%a%d",
	// sets
	"[abc]", "[^abc]", "[a-z]", "[^a-z]", "[%a_]", "[%d%s]", "[]]", "[^]]", "[]a]", "[a-]", "[-a]", "[a%-z]",
	"[%]]", "[.]", "[%%]", "[(]", "[^%s]", "[%a-z]", "[a-%d]", "[a-c-e]", "[a--]", "[--/]", "[%w_]+", "[^%w]+",
	"[\x00]", "[%z]", "[^%z]",
	// quantifiers
	"a*", "a+", "a-", "a?", "%a+", "%s*", ".-", ".*", "[%d.]+", "%a*%d", "a*a", "a-a", "a-b", "a?b", "**", "a**",
	"a*?", "+", "-", "?", "%a-%d", "x*", "o+", ".-o", ".*o",
	// anchors
	"^a", "^h", "^%a+", "d$", "^$", "^.-$", "^(.-)%s*$", "^%s*(.-)%s*$", "a$", "$$", "^^", "(^a)", "(a$)",
	// captures
	"(a)", "(h)(e)", "(%a+)", "(%a+) (%a+)", "()", "()a()", "(()a)", "((a)(b))", "(%w+)=(%w+)", "(.-)%s*=%s*(.-);",
	"%s*(%S+)%s*", "((.)%2)", "(%w+)%1", "(a)%1", "(.)%1", "()a%1", "(a*(.)%w(%s*))",
	// balance
	"%b()", "%b[]", "%bab", "%b((", "f%b()", "%b()d",
	// malformed: both gopher-lua and the sandbox raise
	"(", "(a", ")", "a)", "[a", "[", "[^", "[%", "%0", "(%1)", "a%2",
}

func diffCases() []diffCase {
	var cases []diffCase
	inits := []glua.LValue{glua.LNil, glua.LNumber(1), glua.LNumber(2), glua.LNumber(0), glua.LNumber(-1),
		glua.LNumber(-3), glua.LNumber(5), glua.LNumber(12), glua.LNumber(100)}
	repls := []glua.LValue{glua.LString("<%0>"), glua.LString("%1"), glua.LString("[%2]"), glua.LString("%%"),
		glua.LString(""), glua.LString("x%"), glua.LString("repl_fn"), glua.LString("repl_tbl")}
	ns := []glua.LValue{glua.LNil, glua.LNumber(1), glua.LNumber(2)}
	for _, p := range diffPatterns {
		for si, s := range diffSubjects {
			for ii, init := range inits {
				if (si+ii)%3 == 0 {
					cases = append(cases, diffCase{fn: "find", s: s, p: p, init: init})
				}
				if (si+ii)%3 == 1 {
					cases = append(cases, diffCase{fn: "match", s: s, p: p, init: init})
				}
			}
			cases = append(cases, diffCase{fn: "gmatch", s: s, p: p})
			for ri, repl := range repls {
				cases = append(cases, diffCase{fn: "gsub", s: s, p: p, repl: repl, n: ns[(si+ri)%len(ns)]})
			}
		}
	}
	return cases
}

// randomPattern builds a well-formed pattern from the pieces of Lua
// patterns, back-references only to captures closed before them.
func randomPattern(r *rand.Rand) string {
	singles := []string{"a", "b", "c", " ", "-", "]", ".", "%a", "%A", "%d", "%s", "%S", "%w", "%W", "%p", "%x",
		"%u", "%l", "%c", "%z", "%%", "%(", "%.", "%]", "%-", "%g", "[ab]", "[^a]", "[a-c]", "[%a_]", "[]a]",
		"[a-]", "[-a]", "[%a-c]", "[a-b-c]", "[a--]", "[%s%d]", "[^%s]", "[%]]", "[(]"}
	var b strings.Builder
	if r.IntN(5) == 0 {
		b.WriteByte('^')
	}
	var open, closed []int
	captures := 0
	for n := 1 + r.IntN(7); n > 0; n-- {
		switch k := r.IntN(16); {
		case k < 9:
			b.WriteString(singles[r.IntN(len(singles))])
			if r.IntN(2) == 0 {
				b.WriteByte("*+-?"[r.IntN(4)])
			}
		case k == 9 && captures < 32:
			captures++
			open = append(open, captures)
			b.WriteByte('(')
		case k == 10 && len(open) > 0:
			closed = append(closed, open[len(open)-1])
			open = open[:len(open)-1]
			b.WriteByte(')')
		case k == 11 && captures < 32:
			captures++
			closed = append(closed, captures)
			b.WriteString("()")
		case k == 12 && len(closed) > 0:
			if c := closed[r.IntN(len(closed))]; c <= 9 {
				fmt.Fprintf(&b, "%%%d", c)
			}
		case k == 13:
			b.WriteString([]string{"%b()", "%bab", "%baa"}[r.IntN(3)])
		case k == 14:
			b.WriteString([]string{"$", "^", "*", "+"}[r.IntN(4)])
		}
	}
	for range open {
		b.WriteByte(')')
	}
	if r.IntN(5) == 0 {
		b.WriteByte('$')
	}
	return b.String()
}

func randomSubject(r *rand.Rand) string {
	const alphabet = "aaabbbcc   ()-_1A%.]\x00"
	b := make([]byte, r.IntN(17))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// TestPatternsMatchGopherLua runs the hand-written cases and a seeded set
// of random ones through gopher-lua's string library and the sandbox's:
// the results must be the same (errors where both raise one count as the
// same; the known differences are in TestPatternFunctions).
func TestPatternsMatchGopherLua(t *testing.T) {
	d := newDiffer(t)
	defer d.close()
	cases := diffCases()
	r := rand.New(rand.NewPCG(10, 5))
	randomCount := 20000
	if testing.Short() {
		randomCount = 2000
	}
	for i := 0; i < randomCount; i++ {
		c := diffCase{fn: []string{"find", "match", "gmatch", "gsub"}[i%4], s: randomSubject(r), p: randomPattern(r)}
		c.init = glua.LNumber(r.IntN(20) - 5)
		c.repl = []glua.LValue{glua.LString("<%0>"), glua.LString("%1"), glua.LString("repl_fn"), glua.LString("repl_tbl")}[r.IntN(4)]
		c.n = glua.LNil
		cases = append(cases, c)
	}
	failed, skipped := 0, 0
	for _, c := range cases {
		problem, skip := d.compare(c)
		if skip {
			skipped++
		}
		if problem != "" {
			failed++
			if failed <= 30 {
				t.Error(problem)
			}
		}
	}
	t.Logf("%d cases, %d skipped (too slow for gopher-lua, a gopher-lua crash, or malformed for Lua 5.1), %d differ",
		len(cases), skipped, failed)
	if skipped > len(cases)/50 {
		t.Errorf("%d of %d cases skipped: the comparison covers too little", skipped, len(cases))
	}
}

// FuzzPatternMatchesGopherLua compares the sandbox's pattern functions
// with gopher-lua's on any subject, pattern and init (go test -fuzz
// FuzzPatternMatchesGopherLua ./plugins/lua/). Its seeds run with the
// other tests.
func FuzzPatternMatchesGopherLua(f *testing.F) {
	for _, seed := range []struct {
		s, p string
		init int
	}{
		{"hello world", "%w+", 1}, {"  trim me  ", "^%s*(.-)%s*$", 1}, {"key=value", "(%w+)=(%w+)", 1},
		{"f(a(b)c)d", "%b()", 2}, {"THE (quick) fox", "[%a-z]+", -5}, {"a-b-c", "[a-b-c]+", 1},
		{"aaa", "()a()", 0}, {"abab", "(ab)%1", 1}, {"/api/users/42", "^/api/(%w+)/(%d+)$", 1},
		{"x = 10", "(%a+)%s*=%s*(%d+)", 3}, {"a.b", "%.", 1}, {"]]", "[]]+", 1}, {"a$b", "a$b", 1},
		{"aaab", "a-b", 1}, {"abc", "(", 1}, {"abc", "%", 1}, {"abc", "[a", 1}, {"abc", "%b(", 1},
	} {
		f.Add(seed.s, seed.p, seed.init)
	}
	d := newDiffer(f)
	f.Cleanup(d.close)
	f.Fuzz(func(t *testing.T, s, p string, init int) {
		if len(s) > 64 || len(p) > 32 || strings.Contains(p, "%f") {
			// Long inputs make gopher-lua's matcher take forever; %f is a
			// frontier here and a plain 'f' in gopher-lua.
			return
		}
		for _, c := range []diffCase{
			{fn: "find", s: s, p: p, init: glua.LNumber(init)},
			{fn: "match", s: s, p: p, init: glua.LNumber(init)},
			{fn: "gmatch", s: s, p: p},
			{fn: "gsub", s: s, p: p, repl: glua.LString("<%0>"), n: glua.LNil},
			{fn: "gsub", s: s, p: p, repl: glua.LString("repl_fn"), n: glua.LNumber(3)},
		} {
			if problem, _ := d.compare(c); problem != "" {
				t.Error(problem)
			}
		}
	})
}

// eval runs the Lua expression expr on L and describes its values, or
// its error message.
func eval(L *glua.LState, expr string) result {
	fn, err := L.LoadString("return " + expr)
	if err != nil {
		return result{err: err.Error()}
	}
	L.SetTop(0)
	L.Push(fn)
	if err := L.PCall(0, glua.MultRet, nil); err != nil {
		return result{err: errorText(err)}
	}
	r := result{values: []string{}}
	for i := 1; i <= L.GetTop(); i++ {
		r.values = append(r.values, showValue(L.Get(i)))
	}
	L.SetTop(0)
	return r
}

// TestPatternFunctions pins what the sandbox's pattern functions answer
// where they differ from gopher-lua's (Lua 5.1's answer, or a crash or
// defect of gopher-lua), their error messages, and the ways a script
// reaches them (the s:method form, string.gfind).
func TestPatternFunctions(t *testing.T) {
	L := newSandbox(1<<20, nil)
	defer L.Close()
	for _, tc := range []struct{ expr, want string }{
		// init, as Lua 5.1 (gopher-lua: 1, 0 whatever init; a Go panic)
		{`string.find("abc", "", 2)`, `2, 1`},
		{`string.find("abc", "", 4)`, `4, 3`},
		{`string.find("abc", "", 5)`, `nil`},
		{`string.find("abc", "b", 10, true)`, `nil`},
		{`string.find("a.c", ".", 1, true)`, `2, 2`},
		{`string.find("abc", "b", -2)`, `2, 2`},
		{`string.match("abc", ".", -1)`, `"c"`},
		// no match is nil (gopher-lua's match returned nothing at all)
		{`select("#", string.match("abc", "x"))`, `1`},
		{`string.match("abc", "x")`, `nil`},
		// replacement strings and values, as Lua 5.1
		{`string.gsub("hello world", "%w+", "<%1>")`, `"<hello> <world>", 2`},
		{`string.gsub("hello world", "(o)", "%0%1")`, `"helloo woorld", 2`},
		{`string.gsub("abc", "b", "%x%%")`, `"ax%c", 1`},
		{`string.gsub("abc", "b", "x%")`, `"ax%c", 1`},
		{`string.gsub("abc", "b", 7)`, `"a7c", 1`},
		{`string.gsub("abc", "()", "%1")`, `"1a2b3c4", 4`},
		{`string.gsub("abc", "%w", { a = 1, b = false })`, `"1bc", 3`},
		{`string.gsub("abc", "%w", { a = true })`, `error: <string>:1: invalid replacement value (a boolean)`},
		{`string.gsub("abc", "%w", function() return {} end)`, `error: <string>:1: invalid replacement value (a table)`},
		{`string.gsub("abc", "(a)", "%2")`, `error: <string>:1: invalid capture index %2 in replacement string`},
		// n: 0 replaces nothing; negative replaces all (as gopher-lua)
		{`string.gsub("abc", "a", "x", 0)`, `"abc", 0`},
		{`string.gsub("abc", "%w", "x", 2)`, `"xxc", 2`},
		{`string.gsub("abc", "%w", "x", -1)`, `"xxx", 3`},
		{`string.gsub("abc", "^%w", "x")`, `"xbc", 1`},
		{`string.gsub("abc", "b*", "-")`, `"-a--c-", 4`},
		// frontier (a plain 'f' in gopher-lua)
		{`string.match("THE (quick) fox", "%f[%a]%a+", 4)`, `"quick"`},
		{`string.gsub("hello world", "%f[%w]%w", string.upper)`, `"Hello World", 2`},
		// method form, gfind, gmatch's iterator called directly
		{`("  x  "):match("^%s*(.-)%s*$")`, `"x"`},
		{`("k=v"):find("(%w)=(%w)")`, `1, 3, "k", "v"`},
		{`("a,b"):gsub(",", ";")`, `"a;b", 1`},
		{`string.gfind == string.gmatch`, `true`},
		{`(function() local it = ("a1b2"):gmatch("%d") return it(), it(), it() end)()`, `"1", "2"`},
		{`(function() local n = 0 for w in ("aaa"):gmatch("^a") do n = n + 1 end return n end)()`, `1`},
		{`(function() local t = {} for k, v in ("a=1, b=2"):gmatch("(%w+)=(%w+)") do t[#t+1] = k .. v end return table.concat(t, ";") end)()`, `"a1;b2"`},
		// malformed patterns
		{`string.find("a", "%")`, `error: <string>:1: malformed pattern (ends with '%')`},
		{`string.match("a", "[a")`, `error: <string>:1: malformed pattern (missing ']')`},
		{`string.match("a", "%bx")`, `error: <string>:1: malformed pattern (missing arguments to '%b')`},
		{`string.match("a", "%fa")`, `error: <string>:1: missing '[' after '%f' in pattern`},
		{`string.match("a", "(a")`, `error: <string>:1: unfinished capture`},
		{`string.match("a", "a)")`, `error: <string>:1: invalid pattern capture`},
		{`string.gmatch("a", "%0")`, `error: <string>:1: invalid capture index %0 in pattern`},
		{`string.match("aa", "(a%1)")`, `error: <string>:1: invalid capture index %1 in pattern`},
		{`string.match("a", string.rep("()", 33))`, `error: <string>:1: too many captures`},
		{`string.match(string.rep("a", 2000), string.rep("a?", 2000))`, `error: <string>:1: pattern too complex`},
	} {
		if got := eval(L, tc.expr).String(); got != tc.want {
			t.Errorf("%s\n  got  %s\n  want %s", tc.expr, got, tc.want)
		}
	}
}

// TestPatternFunctionsStopAtDeadline: each pattern function, in each way
// a script can reach it, stops a long search when the call's context is
// done: the error names the function, raised from inside the search.
// The context here closes after a number of checks, not after a time.
func TestPatternFunctionsStopAtDeadline(t *testing.T) {
	L := newSandbox(1<<20, nil)
	defer L.Close()
	// The trim idiom on 1500 spaces between two letters: about a million
	// steps of backtracking (gopher-lua takes a good part of a second).
	L.SetGlobal("s", glua.LString("a"+strings.Repeat(" ", 1500)+"a"))
	for _, tc := range []struct{ code, fn string }{
		{`string.find(s, "^%s*(.-)%s*$")`, "string.find"},
		{`string.match(s, "^%s*(.-)%s*$")`, "string.match"},
		{`s:match("^%s*(.-)%s*$")`, "string.match"},
		{`for x in string.gmatch(s, "^%s*(.-)%s*$") do end`, "string.gmatch"},
		{`for x in string.gfind(s, "^%s*(.-)%s*$") do end`, "string.gmatch"},
		{`string.gsub(s, "^%s*(.-)%s*$", "%1")`, "string.gsub"},
		{`s:gsub("^%s*(.-)%s*$", "%1")`, "string.gsub"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			L.SetContext(newCountdown(100))
			defer L.RemoveContext()
			err := L.DoString(tc.code)
			want := tc.fn + ": " + errCountdown.Error()
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v, want an error with %q", err, want)
			}
		})
	}
}
