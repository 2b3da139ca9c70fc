package store

import (
	"testing"
	"time"
)

// BenchmarkGet is a small hit, the baseline of every cache lookup.
func BenchmarkGet(b *testing.B) {
	ns := New(MinSize).Namespace(HTTPNamespace)
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
	ns := New(MinSize).Namespace(HTTPNamespace)
	path := []byte("/api/v1/users/42")
	ns.RenewKeyGeneration(path)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ns.KeyGeneration(path)
	}
}

// BenchmarkPurgedPath is the per-request cost of prefix purges, for an
// entry older than the last purge (the rare case: newer entries skip it).
func BenchmarkPurgedPath(b *testing.B) {
	ns := New(MinSize).Namespace(HTTPNamespace)
	stamp := time.Now().UnixNano()
	for _, p := range []string{"/a/", "/b/c/", "/api/v2/"} {
		ns.PurgePrefix(p)
	}
	path := []byte("/api/v1/users/42")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m := ns.MarksAfter(stamp); m != nil {
			m.PurgedPath(path, stamp)
		}
	}
}
