package httpbytes

import "testing"

// BenchmarkHasToken walks a typical Connection value to its last token.
func BenchmarkHasToken(b *testing.B) {
	list := []byte("keep-alive, TE, Upgrade")
	b.ReportAllocs()
	for b.Loop() {
		if !HasToken(list, "upgrade") {
			b.Fatal("not found")
		}
	}
}

// BenchmarkEqualFold compares a header name of typical length.
func BenchmarkEqualFold(b *testing.B) {
	name := []byte("Transfer-Encoding")
	b.ReportAllocs()
	for b.Loop() {
		if !EqualFold(name, "transfer-encoding") {
			b.Fatal("no match")
		}
	}
}
