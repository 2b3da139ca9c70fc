package compress

import (
	"bytes"
	"testing"
)

// FuzzNegotiate checks that Negotiate never panics, answers with an
// offered coding or identity, never picks a coding the header refuses or
// does not allow, and ignores the case of the header.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"", "gzip", "gzip, deflate, br, zstd", "gzip;q=0.5, br, zstd;q=0", "*", "*;q=0", "identity;q=0",
		"x-gzip;q=1.000", "br;q=abc", ";;;", ",,,", "gzip;q=", "gzip ; q = 0.5", "GZIP;Q=0.001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		offered := DefaultPreference
		got := Negotiate([]byte(h), offered)
		if got != Identity {
			lower := bytes.ToLower([]byte(h))
			if !bytes.Contains(lower, []byte(got.String())) && !bytes.Contains(lower, []byte("*")) {
				t.Fatalf("Negotiate(%q) = %v, a coding the header does not name", h, got)
			}
			// The same header with only the chosen coding offered still
			// chooses it: it was acceptable on its own.
			if again := Negotiate([]byte(h), []Encoding{got}); again != got {
				t.Fatalf("Negotiate(%q, [%v]) = %v; acceptable among three but not alone", h, got, again)
			}
		}
		if up := Negotiate(bytes.ToUpper([]byte(h)), offered); up != got {
			t.Fatalf("Negotiate(%q) = %v but upper-cased gives %v", h, got, up)
		}
	})
}
