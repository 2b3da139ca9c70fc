package store

import (
	"testing"
	"time"
)

// BenchmarkGet is a small hit, the baseline of every cache lookup.
func BenchmarkGet(b *testing.B) {
	ns := New(MinSize).Namespace("proxy")
	key, val := []byte("some-key-of-24-bytes...."), make([]byte, 200)
	ns.Set(key, val, time.Hour)
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst, _ = ns.Get(dst[:0], key)
	}
}

// BenchmarkKeyGeneration is the per-request cost of URL purges.
func BenchmarkKeyGeneration(b *testing.B) {
	ns := New(MinSize).Namespace("proxy")
	path := []byte("/api/v1/users/42")
	ns.RenewKeyGeneration(path)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ns.KeyGeneration(path)
	}
}
