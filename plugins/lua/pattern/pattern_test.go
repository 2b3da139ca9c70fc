package pattern

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// describe returns what Find made of pattern p on s from init, as
// "start-end cap1 cap2 ..." (0-based offsets; captures quoted, position
// captures as @offset), "no match" or "error: ...".
func describe(p, s string, init int, b *Budget) string {
	pat, err := Compile(p, b)
	if err != nil {
		return "error: " + err.Error()
	}
	var m Match
	found, err := pat.Find(s, init, b, &m)
	switch {
	case err != nil:
		return "error: " + err.Error()
	case !found:
		return "no match"
	}
	out := fmt.Sprintf("%d-%d", m.Start, m.End)
	for i := 0; i < m.Captures(); i++ {
		start, end, isPosition := m.Capture(i)
		if isPosition {
			out += fmt.Sprintf(" @%d", start)
		} else {
			out += fmt.Sprintf(" %q", s[start:end])
		}
	}
	return out
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		init int
		want string
	}{
		// single characters and classes
		{"b", "abc", 0, "1-2"},
		{".", "", 0, "no match"},
		{"%a+", "12ab3", 0, "2-4"},
		{"%A+", "ab12c", 0, "2-4"},
		{"%d%d", "a1b23", 0, "3-5"},
		{"%s+", "a \t\n\v\f\rb", 0, "1-7"},
		{"%p+", "a!?.b", 0, "1-4"},
		{"%c", "a\x7f", 0, "1-2"},
		{"%x+", "xyzBEEFg", 0, "3-7"},
		{"%u%l", "aBc", 0, "1-3"},
		{"%w+", "-_ab1-", 0, "2-5"},
		{"%z", "a\x00", 0, "1-2"},
		{"%Z+", "ab\x00", 0, "0-2"},
		{"%.", "a.b", 0, "1-2"},
		{"%g", "fgh", 0, "1-2"}, // not a class: the letter itself
		{"\xff", "a\xff", 0, "1-2"},
		// sets
		{"[%d.]+", "v1.25x", 0, "1-5"},
		{"[^%s]+", "  ab c", 0, "2-4"},
		{"[a-c]+", "xcabd", 0, "1-4"},
		{"[]]", "a]", 0, "1-2"},
		{"[^]]+", "ab]", 0, "0-2"},
		{"[a-]+", "x-a-", 0, "1-4"},
		{"[-a]+", "x-a-", 0, "1-4"},
		{"[%]]", "a]", 0, "1-2"},
		{"[%a-z]+", "hi-z", 0, "no match"}, // class-range: undefined in 5.1, nothing (as gopher-lua)
		{"[_%a-z]+", "hi-_", 0, "3-4"},
		{"[a-c-e]+", "abcde-", 0, "no match"}, // chained ranges: nothing (as gopher-lua)
		{"[a--]+", "ba-", 0, "1-3"},           // a second '-' is ignored; the trailing '-' is a byte
		{"[.]", "a.", 0, "1-2"},
		{"[\x00]", "a\x00", 0, "1-2"},
		// quantifiers
		{"a*", "baaa", 0, "0-0"},
		{"a*", "aaab", 0, "0-3"},
		{"a+", "baaa", 0, "1-4"},
		{"a-b", "aaab", 0, "0-4"},
		{"a-", "aaa", 0, "0-0"},
		{"<(.-)>", "<a><b>", 0, `0-3 "a"`},
		{"<(.*)>", "<a><b>", 0, `0-6 "a><b"`},
		{"a?b", "ab", 0, "0-2"},
		{"a?b", "b", 0, "0-1"},
		{"a**", "aa*", 0, "0-3"}, // the second '*' is a plain '*'
		{"*", "a*", 0, "1-2"},
		{"(a)*", "a*", 0, `0-2 "a"`},
		// anchors
		{"^a", "ba", 0, "no match"},
		{"^a", "ba", 1, "1-2"},
		{"a$", "aab", 0, "no match"},
		{"a$", "aba", 0, "2-3"},
		{"a$b", "a$b", 0, "0-3"},
		{"^$", "", 0, "0-0"},
		{"(a$)", "a$", 0, `0-2 "a$"`},
		{"^%s*(.-)%s*$", "  trim me  ", 0, `0-11 "trim me"`},
		// captures
		{"(%w+)=(%w+)", "k=v", 0, `0-3 "k" "v"`},
		{"()a()", "ba", 0, "1-2 @1 @2"},
		{"((a)(b))", "ab", 0, `0-2 "ab" "a" "b"`},
		{"(a)%1", "aab", 0, `0-2 "a"`},
		{"(%a+) %1", "go go", 0, `0-5 "go"`},
		{"()a%1", "ab", 0, "0-1 @0"}, // a position capture matches as ""
		{"(a%1)", "aa", 0, "error: invalid capture index %1 in pattern"},
		{"x(a%1)", "aa", 0, "no match"}, // never reached: no error
		{"(a)%2", "aa", 0, "error: invalid capture index %2 in pattern"},
		// balance and frontier
		{"%b()", "f(a(b)c)d", 0, `1-8`},
		{"%b()", "((", 0, "no match"},
		{`%b""`, `x"ab"`, 0, "1-5"},
		{"%f[%w]%w+", "THE (quick) fox", 0, "0-3"},
		{"%f[%w]%w+", "THE (quick) fox", 3, "5-10"},
		{"%f[%W]", "abc", 0, "3-3"}, // the end counts as '\0'
		{"%f[%a]", "", 0, "no match"},
		{"%f[^%z]", "abc", 1, "no match"},
		{"%f[^%z]", "abc", 0, "0-0"},
		// init
		{"a", "aa", 1, "1-2"},
		{"", "ab", 2, "2-2"},
		{"", "ab", 3, "no match"},
	} {
		if got := describe(tc.p, tc.s, tc.init, nil); got != tc.want {
			t.Errorf("Find(%q, %q, %d) = %s, want %s", tc.p, tc.s, tc.init, got, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for p, want := range map[string]string{
		"a%":                     "malformed pattern (ends with '%')",
		"[a":                     "malformed pattern (missing ']')",
		"[":                      "malformed pattern (missing ']')",
		"[]":                     "malformed pattern (missing ']')",
		"[a%":                    "malformed pattern (missing ']')",
		"%b(":                    "malformed pattern (missing arguments to '%b')",
		"%f":                     "missing '[' after '%f' in pattern",
		"%fa":                    "missing '[' after '%f' in pattern",
		"%f[a":                   "malformed pattern (missing ']')",
		"(a":                     "unfinished capture",
		"((a)":                   "unfinished capture",
		"a)":                     "invalid pattern capture",
		"%0":                     "invalid capture index %0 in pattern",
		strings.Repeat("()", 33): "too many captures",
	} {
		_, err := Compile(p, nil)
		var pe *Error
		if !errors.As(err, &pe) || pe.Msg != want {
			t.Errorf("Compile(%q): got %v, want %q", p, err, want)
		}
	}
	if _, err := Compile(strings.Repeat("()", 32), nil); err != nil {
		t.Errorf("32 captures: %v", err)
	}
}

// TestDepthLimit: a pattern whose backtracking would nest without end
// fails with a clear error instead of growing the Go stack, and a long
// pattern without choices has no such limit.
func TestDepthLimit(t *testing.T) {
	s := strings.Repeat("a", 5000)
	if got := describe(strings.Repeat("a?", 5000), s, 0, nil); got != "error: pattern too complex" {
		t.Errorf("5000 a? on 5000 a's: %s", got)
	}
	if got := describe(strings.Repeat("a?", MaxDepth-1), s, 0, nil); got != fmt.Sprintf("0-%d", MaxDepth-1) {
		t.Errorf("%d a? on 5000 a's: %s", MaxDepth-1, got)
	}
	if got := describe(strings.Repeat("a", 5000)+"$", s, 0, nil); got != "0-5000" {
		t.Errorf("5000 a's: %s", got)
	}
	if got := describe(strings.Repeat("(", 32)+strings.Repeat(")", 32), "", 0, nil); !strings.HasPrefix(got, "0-0") {
		t.Errorf("32 nested captures: %s", got)
	}
}

var errStop = errors.New("stopped")

// stopAfter returns a Budget whose Check stops matching at its n-th
// call, and a pointer to the number of calls made.
func stopAfter(n int) (*Budget, *int) {
	calls := 0
	return &Budget{Check: func() error {
		calls++
		if calls >= n {
			return errStop
		}
		return nil
	}}, &calls
}

// The catastrophic cases: each would run for seconds to centuries with
// nothing to stop it.
var bombs = []struct{ name, p, s string }{
	{"trim idiom on spaces inside", "^%s*(.-)%s*$", "a" + strings.Repeat(" ", 10000) + "a"},
	{"nested stars", strings.Repeat("a*", 20) + "b", strings.Repeat("a", 10000)},
	{"lazy stars", strings.Repeat("a-", 20) + "b", strings.Repeat("a", 10000)},
	{"optional items", strings.Repeat("a?", 500) + strings.Repeat("a", 500) + "b", strings.Repeat("a", 600)},
	{"back-references", "(a*)%1%1%1b", strings.Repeat("a", 10000)},
	{"balance", "%b()x", strings.Repeat("(", 10000)},
	{"frontier and sets", "%f[%a][%a ]*[%a]*%d", strings.Repeat("ab ", 4000)},
}

// TestBudgetStopsBombs: every catastrophic pattern is stopped by its
// Budget's Check, with Check's error, the call made when it said so.
func TestBudgetStopsBombs(t *testing.T) {
	for _, tc := range bombs {
		t.Run(tc.name, func(t *testing.T) {
			b, calls := stopAfter(50)
			if got := describe(tc.p, tc.s, 0, b); got != "error: stopped" {
				t.Fatalf("got %s, want error: stopped", got)
			}
			if *calls != 50 {
				t.Errorf("Check called %d times, want 50 (it stopped at the 50th)", *calls)
			}
		})
	}
}

// TestBudgetCarriesOver: many short searches share one budget, so that
// a loop of them is checked as often as one long search.
func TestBudgetCarriesOver(t *testing.T) {
	pat, err := Compile("a", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, calls := stopAfter(1 << 30)
	var m Match
	for i := 0; i < 10*CheckEvery; i++ {
		if _, err := pat.Find("xa", 0, b, &m); err != nil {
			t.Fatal(err)
		}
	}
	if *calls < 10 {
		t.Errorf("Check called %d times over %d searches of 2 steps or more, want at least 10", *calls, 10*CheckEvery)
	}
}

// TestBudgetStopsLongPatterns: parsing a pattern as long as a string may
// be spends the budget too.
func TestBudgetStopsLongPatterns(t *testing.T) {
	for name, p := range map[string]string{
		"items": strings.Repeat("a?", 1<<20),
		"set":   "[" + strings.Repeat("a", 1<<20) + "]",
	} {
		b, _ := stopAfter(5)
		if _, err := Compile(p, b); err != errStop {
			t.Errorf("%s: got %v, want %v", name, err, errStop)
		}
	}
}

// TestCompileMemory: a compiled pattern costs a small multiple of its
// length, whatever it holds.
func TestCompileMemory(t *testing.T) {
	for name, p := range map[string]string{
		"literals": strings.Repeat("a", 1<<16),
		"classes":  strings.Repeat("%a", 1<<15),
		"sets":     strings.Repeat("[ab]", 1<<14),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Compile(p, nil); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if per := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(p)); per > 40 {
			t.Errorf("%s: %.1f bytes allocated per byte of pattern, want at most 40", name, per)
		} else {
			t.Logf("%s: %.1f bytes allocated per byte of pattern", name, per)
		}
	}
}
