package cache

import (
	"testing"
	"time"

	"github.com/moongate/moongate/core/store"
)

// BenchmarkPurgedPath is the per-request cost of prefix purges, for an
// entry older than the last purge (the rare case: newer entries skip it).
func BenchmarkPurgedPath(b *testing.B) {
	marks := marksOf(store.New(store.MinSize).Namespace(namespace))
	stamp := time.Now().UnixNano()
	for _, p := range []string{"/a/", "/b/c/", "/api/v2/"} {
		marks.purgePrefix(p)
	}
	path := []byte("/api/v1/users/42")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m := marks.after(stamp); m != nil {
			m.PurgedPath(path, stamp)
		}
	}
}
