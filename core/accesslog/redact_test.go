package accesslog

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

func TestAppendRedactedQuery(t *testing.T) {
	names := []string{"api_key", "jwt"}
	tests := []struct{ in, want string }{
		{"", ""},
		{"page=2", "page=2"},
		{"api_key=s3cret", "api_key=[redacted]"},
		{"page=2&api_key=s3cret&sort=asc", "page=2&api_key=[redacted]&sort=asc"},
		{"api_key=a&api_key=b", "api_key=[redacted]&api_key=[redacted]"},
		{"API_KEY=s3cret", "API_KEY=[redacted]"},
		{"api%5Fkey=s3cret", "api%5Fkey=[redacted]"},
		{"api%5fkey=s3cret", "api%5fkey=[redacted]"},
		{"jwt=eyJ.a.b&x=1", "jwt=[redacted]&x=1"},
		{"api_key=", "api_key=[redacted]"},
		{"api_key", "api_key"}, // no value to hide
		{"api_keys=1&my_api_key=2&api_key2=3", "api_keys=1&my_api_key=2&api_key2=3"},
		{"&&api_key=x&", "&&api_key=[redacted]&"},
		{"a=api_key=x", "a=api_key=x"},
		{"api_key=x=y", "api_key=[redacted]"},
		{"api%5=x&api%=y", "api%5=x&api%=y"},
		{"api+key=x", "api+key=x"},
	}
	for _, tc := range tests {
		got := string(AppendRedactedQuery([]byte("?"), []byte(tc.in), names))
		if got != "?"+tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, "?"+tc.want)
		}
	}
	if got := string(AppendRedactedQuery(nil, []byte("my+key=x"), []string{"my key"})); got != "my+key=[redacted]" {
		t.Errorf("'+' as a space: got %q", got)
	}
	if got := string(AppendRedactedQuery(nil, []byte("api_key=x"), nil)); got != "api_key=x" {
		t.Errorf("no names: got %q", got)
	}
}

// FuzzAppendRedactedQuery: no value of a named parameter survives, as a
// query parser (net/url, case folded) reads the result; the other
// parameters are unchanged.
func FuzzAppendRedactedQuery(f *testing.F) {
	f.Add("page=2&api_key=s3cret", "api_key")
	f.Add("API%5Fkey=a&api_key=b&x", "Api_Key")
	f.Add("%zz=1&a+b=2", "a b")
	f.Fuzz(func(t *testing.T, query, name string) {
		if name == "" || strings.ContainsAny(query, ";") {
			return // net/url rejects ';', fasthttp does not split on it
		}
		out := AppendRedactedQuery(nil, []byte(query), []string{name})
		if strings.Count(string(out), "&") != strings.Count(query, "&") {
			t.Fatalf("parameters changed: %q -> %q", query, out)
		}
		in := strings.Split(query, "&")
		for i, p := range bytes.Split(out, []byte("&")) {
			k, v, hasValue := strings.Cut(string(p), "=")
			ik, _, _ := strings.Cut(in[i], "=")
			if k != ik {
				t.Fatalf("name changed: %q -> %q", in[i], p)
			}
			named := asciiEqualFold(unescapeArg(k), name)
			if named && hasValue && v != Redacted {
				t.Fatalf("value of %q kept: %q -> %q", name, query, out)
			}
			if !named && string(p) != in[i] {
				t.Fatalf("other parameter changed: %q -> %q", in[i], p)
			}
		}
	})
}

// unescapeArg decodes a query argument name as fasthttp does: "%hh" is
// a byte, '+' a space, a malformed escape stands for itself.
func unescapeArg(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '+':
			b.WriteByte(' ')
		case s[i] == '%' && i+2 < len(s):
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil && s[i+1] != '+' && s[i+1] != '-' {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
			b.WriteByte('%')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// asciiEqualFold is bytes.EqualFold for ASCII letters only (the
// redaction does not fold other letters).
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
