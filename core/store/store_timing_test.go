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

// BenchmarkGetExpired10KB is a 10 KB hit moved into place (the store's
// header dropped by a copy of the value).
func BenchmarkGetExpired10KB(b *testing.B) {
	ns := New(MinSize).Namespace("proxy")
	key := []byte("some-key-of-24-bytes....")
	ns.Set(key, make([]byte, 10<<10), time.Hour)
	dst := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	b.SetBytes(10 << 10)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst, _ = ns.GetExpired(dst[:0], key)
	}
}

// BenchmarkReadExpired10KB is the same hit read in place.
func BenchmarkReadExpired10KB(b *testing.B) {
	ns := New(MinSize).Namespace("proxy")
	key := []byte("some-key-of-24-bytes....")
	ns.Set(key, make([]byte, 10<<10), time.Hour)
	buf := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	b.SetBytes(10 << 10)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _, _ = ns.ReadExpired(buf[:0], key)
	}
}
