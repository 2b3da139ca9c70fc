package ratelimit

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/redisconn"
	"github.com/moongate/moongate/core/redistest"
)

// The limits of the benchmarks are high enough that most decisions pass:
// a pass writes state, a refusal only reads it.
var benchLimits = map[string]Limit{
	"sliding": {Windows: []Window{{Requests: 1 << 30, Per: time.Minute}}},
	"gcra":    {Algorithm: GCRA, Windows: []Window{{Requests: 1 << 24, Per: time.Hour, Burst: 1 << 30}}},
	"sliding2": {Windows: []Window{{Requests: 1 << 30, Per: time.Minute},
		{Requests: 1 << 30, Per: time.Second}}},
}

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte("203.0.113." + strconv.Itoa(i))
	}
	return keys
}

// BenchmarkLocal: one decision of the local policy for one hot key, for
// keys cycling through a table of 100,000, and in parallel (every
// goroutine its own keys, or all on one key).
func BenchmarkLocal(b *testing.B) {
	for _, name := range []string{"sliding", "sliding2", "gcra"} {
		l := benchLimits[name]
		b.Run(name+"/one-key", func(b *testing.B) {
			lc := mustLocal(b, l, LocalOptions{})
			key := []byte("consumer:alice")
			var res Result
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				lc.Allow(ctx, key, &res)
			}
		})
		b.Run(name+"/100k-keys", func(b *testing.B) {
			lc := mustLocal(b, l, LocalOptions{MaxKeys: 200_000})
			keys := benchKeys(100_000)
			var res Result
			for _, k := range keys {
				lc.Allow(ctx, k, &res)
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				lc.Allow(ctx, keys[i], &res)
				if i++; i == len(keys) {
					i = 0
				}
			}
		})
		b.Run(name+"/parallel-many-keys", func(b *testing.B) {
			lc := mustLocal(b, l, LocalOptions{MaxKeys: 200_000})
			keys := benchKeys(100_000)
			var res Result
			for _, k := range keys {
				lc.Allow(ctx, k, &res)
			}
			var seq atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var res Result
				i := int(seq.Add(7919)) % len(keys)
				for pb.Next() {
					lc.Allow(ctx, keys[i], &res)
					if i++; i == len(keys) {
						i = 0
					}
				}
			})
		})
		b.Run(name+"/parallel-one-key", func(b *testing.B) {
			lc := mustLocal(b, l, LocalOptions{})
			key := []byte("consumer:alice")
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var res Result
				for pb.Next() {
					lc.Allow(ctx, key, &res)
				}
			})
		})
	}
	// The worst case for memory: every decision a new key (a scan) against
	// a full table of live keys, so every decision sweeps and overflows.
	b.Run("sliding/scan-full-table", func(b *testing.B) {
		lc := mustLocal(b, benchLimits["sliding"], LocalOptions{MaxKeys: 10_000})
		key := make([]byte, 0, 32)
		var res Result
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			key = strconv.AppendInt(append(key[:0], "198.51.100."...), int64(i), 10)
			lc.Allow(ctx, key, &res)
			i++
		}
	})
}

// BenchmarkRedis: one decision of the Redis policy, a script round trip to
// a redis-server on loopback (sequential and parallel).
func BenchmarkRedis(b *testing.B) {
	srv := redistest.Start(b)
	client := newClient(b, srv.Addr, redisconn.Options{})
	// The baseline: the smallest round trip, a PING.
	b.Run("ping", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := client.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, name := range []string{"sliding", "gcra"} {
		r := mustRedis(b, client, benchLimits[name], RedisOptions{Timeout: time.Second, Prefix: "bench:" + name + ":"})
		key := []byte("consumer:alice")
		b.Run(name, func(b *testing.B) {
			var res Result
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.Allow(ctx, key, &res)
				if res.Source != SourceRedis {
					b.Fatal(res.Err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var res Result
				for pb.Next() {
					r.Allow(ctx, key, &res)
				}
			})
		})
	}
}
