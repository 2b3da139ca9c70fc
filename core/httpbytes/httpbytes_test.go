package httpbytes

import (
	"bytes"
	"strings"
	"testing"
)

func TestEqualFold(t *testing.T) {
	for _, tc := range []struct {
		b, s string
		want bool
	}{
		{"Connection", "connection", true},
		{"CONNECTION", "Connection", true},
		{"Connection", "Connectio", false},
		{"", "", true},
		{"a-b_c", "A-B_C", true},
		{"a", "b", false},
		{"@", "`", false},      // the bytes just below 'A' and 'a' do not fold
		{"[", "{", false},      // nor just above 'Z' and 'z'
		{"\u212a", "k", false}, // the Kelvin sign is not ASCII: no match
		{"\xc3\x89", "\xc3\xa9", false},
	} {
		if got := EqualFold([]byte(tc.b), tc.s); got != tc.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tc.b, tc.s, got, tc.want)
		}
	}
}

func TestHasPrefixFold(t *testing.T) {
	for _, tc := range []struct {
		b, prefix string
		want      bool
	}{
		{"Text/Event-Stream; charset=utf-8", "text/event-stream", true},
		{"text/event", "text/event-stream", false},
		{"application/json", "", true},
		{"image/png", "IMAGE/", true},
	} {
		if got := HasPrefixFold([]byte(tc.b), tc.prefix); got != tc.want {
			t.Errorf("HasPrefixFold(%q, %q) = %v, want %v", tc.b, tc.prefix, got, tc.want)
		}
	}
}

func TestAppendLower(t *testing.T) {
	got := AppendLower([]byte("x:"), []byte("Example.COM\xc3\x89"))
	if want := "x:example.com\xc3\x89"; string(got) != want {
		t.Errorf("AppendLower = %q, want %q", got, want)
	}
}

func TestTrimOWS(t *testing.T) {
	for in, want := range map[string]string{
		" \t a b \t ": "a b",
		"ab":          "ab",
		" \t ":        "",
		"\r\na\n":     "\r\na\n", // only spaces and tabs are whitespace here
	} {
		if got := TrimOWS([]byte(in)); string(got) != want {
			t.Errorf("TrimOWS(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNextElement(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string
	}{
		{"a, b ,c", []string{"a", "b", "c"}},
		{" keep-alive ", []string{"keep-alive"}},
		{"a,,b", []string{"a", "", "b"}},
		{"a,", []string{"a"}}, // the walk ends with the list
		{",", []string{""}},
		{"", nil},
	} {
		var got []string
		for list := []byte(tc.list); len(list) > 0; {
			var elem []byte
			elem, list = NextElement(list)
			got = append(got, string(elem))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("elements of %q: got %q, want %q", tc.list, got, tc.want)
		}
	}
}

func TestHasToken(t *testing.T) {
	for _, tc := range []struct {
		list, tok string
		want      bool
	}{
		{"keep-alive, Upgrade", "upgrade", true},
		{"keep-alive,upgrade2", "upgrade", false},
		{" no-cache ", "no-cache", true},
		{"", "no-cache", false},
		{",,", "", true}, // an empty element is an empty token
		{"x-no-cache", "no-cache", false},
	} {
		if got := HasToken([]byte(tc.list), tc.tok); got != tc.want {
			t.Errorf("HasToken(%q, %q) = %v, want %v", tc.list, tc.tok, got, tc.want)
		}
	}
}

// FuzzHasToken: HasToken agrees with splitting the list on commas,
// trimming spaces and tabs and comparing in lower case.
func FuzzHasToken(f *testing.F) {
	f.Add([]byte("keep-alive, Upgrade"), "upgrade")
	f.Add([]byte(" a ,\tB\t,"), "b")
	f.Fuzz(func(t *testing.T, list []byte, tok string) {
		want := false
		if len(list) > 0 {
			for _, e := range bytes.Split(list, []byte(",")) {
				if string(bytes.ToLower(bytes.Trim(e, " \t"))) == asciiLowerString(tok) {
					want = true
				}
			}
		}
		if !asciiOnly(list) || !asciiOnly([]byte(tok)) {
			return // bytes.ToLower folds beyond ASCII
		}
		if got := HasToken(list, tok); got != want {
			t.Fatalf("HasToken(%q, %q) = %v, want %v", list, tok, got, want)
		}
	})
}

func asciiOnly(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func asciiLowerString(s string) string { return string(AppendLower(nil, []byte(s))) }

func TestUnhex(t *testing.T) {
	for c := 0; c < 256; c++ {
		want, wantOK := -1, false
		switch {
		case '0' <= c && c <= '9':
			want, wantOK = c-'0', true
		case 'a' <= c && c <= 'f':
			want, wantOK = c-'a'+10, true
		case 'A' <= c && c <= 'F':
			want, wantOK = c-'A'+10, true
		}
		v, ok := Unhex(byte(c))
		if ok != wantOK || ok && int(v) != want {
			t.Errorf("Unhex(%#x) = %d, %v; want %d, %v", c, v, ok, want, wantOK)
		}
	}
}

func TestHexByte(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want byte
		ok   bool
	}{
		{"2F", '/', true}, {"2f", '/', true}, {"00", 0, true}, {"fF", 0xff, true},
		{"2G", 0, false}, {"G2", 0, false}, {"%2", 0, false},
	} {
		got, ok := HexByte(tc.in[0], tc.in[1])
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("HexByte(%q) = %#x, %v; want %#x, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPortColon(t *testing.T) {
	for in, want := range map[string]int{
		"example.com":      -1,
		"example.com:8080": 11,
		"[::1]":            -1,
		"[::1]:443":        5,
		"::1":              1, // not a valid Host: the last colon
		"":                 -1,
		"a:":               1,
	} {
		if got := PortColon([]byte(in)); got != want {
			t.Errorf("PortColon(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	list := []byte("keep-alive, te, Upgrade")
	dst := make([]byte, 0, 64)
	n := testing.AllocsPerRun(100, func() {
		_ = HasToken(list, "upgrade")
		_ = EqualFold(list[:10], "KEEP-ALIVE")
		_ = AppendLower(dst[:0], list)
		_ = PortColon(list)
	})
	if n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
