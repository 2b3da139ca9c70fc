package jsonstr

import "testing"

// BenchmarkAppendBytes escapes a typical User-Agent: nothing to escape,
// one run copied.
func BenchmarkAppendBytes(b *testing.B) {
	ua := []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36")
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(ua)))
	for b.Loop() {
		dst = AppendBytes(dst[:0], ua)
	}
}

// BenchmarkQuoteEscapes is a string with escapes and non-ASCII text.
func BenchmarkQuoteEscapes(b *testing.B) {
	s := "line one\nline \"two\"\t<é>\xff"
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst = Quote(dst[:0], s)
	}
}
