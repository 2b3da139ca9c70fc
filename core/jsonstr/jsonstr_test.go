package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, html string
	}{
		{"plain", "hello", `"hello"`, `"hello"`},
		{"quotes and backslash", `a"b\c`, `"a\"b\\c"`, `"a\"b\\c"`},
		{"short escapes", "a\nb\rc\td", `"a\nb\rc\td"`, `"a\nb\rc\td"`},
		{"control characters", "\x00\x1f\b\f", `"\u0000\u001f\u0008\u000c"`, `"\u0000\u001f\u0008\u000c"`},
		{"DEL", "\x7f", `"\u007f"`, `"\u007f"`},
		{"markup", "<script>&", `"<script>&"`, `"\u003cscript\u003e\u0026"`},
		{"valid UTF-8 as it is", "é€😀", `"é€😀"`, `"é€😀"`},
		{"U+FFFD itself", "\uFFFD", "\"\uFFFD\"", "\"\uFFFD\""},
		{"one bad byte", "a\xffb", `"a\ufffdb"`, `"a\ufffdb"`},
		{"a truncated character", "a\xc3", `"a\ufffd"`, `"a\ufffd"`},
		{"a surrogate, one per byte", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`, `"\ufffd\ufffd\ufffd"`},
		{"empty", "", `""`, `""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Quote(nil, tc.in)); got != tc.want {
				t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
			}
			if got := string(QuoteHTML(nil, tc.in)); got != tc.html {
				t.Errorf("QuoteHTML(%q) = %s, want %s", tc.in, got, tc.html)
			}
			inner := tc.want[1 : len(tc.want)-1]
			if got := string(AppendString([]byte("x"), tc.in)); got != "x"+inner {
				t.Errorf("AppendString(%q) = %s, want x%s", tc.in, got, inner)
			}
			if got := string(AppendBytes([]byte("x"), []byte(tc.in))); got != "x"+inner {
				t.Errorf("AppendBytes(%q) = %s, want x%s", tc.in, got, inner)
			}
			if got := string(AppendStringHTML(nil, tc.in)); got != tc.html[1:len(tc.html)-1] {
				t.Errorf("AppendStringHTML(%q) = %s, want %s", tc.in, got, tc.html[1:len(tc.html)-1])
			}
		})
	}
}

// FuzzQuote: whatever the bytes, the output is valid JSON that decodes to
// the input with each bad byte replaced by U+FFFD, in both variants.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a\"b", "<&>", "\x00\x7f", "é\xff", "\xed\xa0\x80", "\xf0\x9f\x98"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := toValidPerByte(s)
		for name, out := range map[string][]byte{"Quote": Quote(nil, s), "QuoteHTML": QuoteHTML(nil, s)} {
			var got string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s(%q) = %s: not JSON: %v", name, s, out, err)
			}
			if got != want {
				t.Fatalf("%s(%q) decodes to %q, want %q", name, s, got, want)
			}
		}
		if h := QuoteHTML(nil, s); strings.ContainsAny(string(h), "<>&") {
			t.Fatalf("QuoteHTML(%q) = %s: markup left", s, h)
		}
	})
}

// toValidPerByte replaces each byte of s that is not valid UTF-8 with
// U+FFFD (strings.ToValidUTF8 replaces a run of them with one).
func toValidPerByte(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

func TestNoAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	in := []byte("GET /a\"b\xff <x> é")
	n := testing.AllocsPerRun(100, func() {
		dst = AppendBytes(dst[:0], in)
		dst = QuoteHTML(dst, string(in[:6]))
	})
	if n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

// TestEscapeAtEveryOffset: a character to escape is found wherever it
// falls in a long string (the plain runs are scanned eight bytes at a
// time), and plain bytes around it are kept as they are.
func TestEscapeAtEveryOffset(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`"`, `\"`}, {`\`, `\\`}, {"\x00", `\u0000`}, {"\x1f", `\u001f`}, {"\n", `\n`},
		{"\x7f", `\u007f`}, {"\xff", `\ufffd`}, {"é", "é"}, {"<", "<"}, {" ", " "}, {"~", "~"},
	} {
		for before := 0; before <= 17; before++ {
			for _, after := range []int{0, 1, 7, 8, 9} {
				in := strings.Repeat("a", before) + tc.in + strings.Repeat("z", after)
				want := strings.Repeat("a", before) + tc.want + strings.Repeat("z", after)
				if got := string(AppendString(nil, in)); got != want {
					t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
				}
			}
		}
	}
}
