package cache_test

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/plugins/cache"
)

// largeBenchmarks reports whether the benchmarks that need gigabytes of
// memory run: MOONGATE_BENCH_LARGE=1 (never under -short).
func largeBenchmarks() bool { return os.Getenv("MOONGATE_BENCH_LARGE") == "1" && !testing.Short() }

// fillStore adds n entries of 200 bytes (a 100-byte body and its stored
// headers) to the proxy cache's namespace of st, under keys no request
// uses.
func fillStore(st *store.Store, n int) {
	ns := st.Namespace("proxy")
	val := make([]byte, 200)
	key := make([]byte, 0, 32)
	for i := range n {
		key = strconv.AppendInt(append(key[:0], "/filler/"...), int64(i), 10)
		ns.Set(key, val, time.Hour)
	}
}

// BenchmarkCacheHitScale is a small hit (BenchmarkCacheHit) with 1 000
// and 10 000 000 other entries in the shared store ([cache] size = 4GB;
// fastcache takes memory as it fills). The 10 000 000 case needs about
// 3 GB and a minute to fill: it runs only with MOONGATE_BENCH_LARGE=1.
func BenchmarkCacheHitScale(b *testing.B) {
	for _, n := range []int{1000, 10_000_000} {
		b.Run("entries="+strconv.Itoa(n), func(b *testing.B) {
			if n > 1000 && !largeBenchmarks() {
				b.Skip("set MOONGATE_BENCH_LARGE=1 to fill the store with 10 000 000 entries (~3 GB)")
			}
			s := newHitServerWith(b, 100, "", "[cache]\nsize = \"4GB\"\n")
			fillStore(s.g.Cache(), n)
			st := s.g.Cache().Stats()
			s.serve()
			if string(s.fc.Response.Header.Peek("X-Cache-Status")) != "HIT" {
				b.Fatal("not a hit after the store was filled")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s.serve()
			}
			b.StopTimer()
			if string(s.fc.Response.Header.Peek("X-Cache-Status")) != "HIT" {
				b.Fatal("not a hit")
			}
			b.ReportMetric(float64(st.Entries), "entries")
		})
	}
}

// BenchmarkPurgeScale is the cost of purges made one after the other
// (as POST /cache/purge makes them, without the HTTP and JSON around
// them), 1 and 100 000 in a row on a fresh store: url renews a path's
// generation (a store write), tag and prefix record a mark (copy-on-write,
// see Marks). ns/purge is the figure to read.
func BenchmarkPurgeScale(b *testing.B) {
	for _, kind := range []string{"url", "tag", "prefix"} {
		for _, n := range []int{1, 100_000} {
			b.Run(kind+"/purges="+strconv.Itoa(n), func(b *testing.B) {
				purges := make([]cache.Purge, n)
				for i := range purges {
					v := strconv.Itoa(i)
					switch kind {
					case "url":
						purges[i].URL = "/items/" + v
					case "tag":
						purges[i].Tag = "tag-" + v
					case "prefix":
						purges[i].Prefix = "/items/" + v + "/"
					}
				}
				b.ReportAllocs()
				var total time.Duration
				for b.Loop() {
					b.StopTimer()
					ns := store.New(store.MinSize).Namespace("proxy")
					b.StartTimer()
					start := time.Now()
					for _, p := range purges {
						if _, err := cache.ApplyPurge(ns, p); err != nil {
							b.Fatal(err)
						}
					}
					total += time.Since(start)
				}
				b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/purge")
			})
		}
	}
}

// BenchmarkCacheHitDuringPurges serves small hits while another goroutine
// makes tag purges (of 1 000 tags in turn, none on the hit entry) as fast
// as it can: the hits take no lock the purges hold. purges/hit is how many
// purges were made per hit served; compare ns/op with "alone".
func BenchmarkCacheHitDuringPurges(b *testing.B) {
	for _, busy := range []bool{false, true} {
		name := "alone"
		if busy {
			name = "tag purges alongside"
		}
		b.Run(name, func(b *testing.B) {
			s := newHitServer(b, 100, "")
			ns := s.g.Cache().Namespace("proxy")
			var stop atomic.Bool
			var purges atomic.Int64
			var wg sync.WaitGroup
			if busy {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load() && i < 50_000_000; i++ {
						cache.ApplyPurge(ns, cache.Purge{Tag: "tag-" + strconv.Itoa(i%1000)}) //nolint:errcheck // a tag is valid
						purges.Add(1)
					}
				}()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s.serve()
			}
			b.StopTimer()
			stop.Store(true)
			wg.Wait()
			if string(s.fc.Response.Header.Peek("X-Cache-Status")) != "HIT" {
				b.Fatal("not a hit")
			}
			b.ReportMetric(float64(purges.Load())/float64(b.N), "purges/hit")
		})
	}
}
