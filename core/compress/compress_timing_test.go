package compress

import (
	"runtime"
	"strconv"
	"testing"
)

func BenchmarkNegotiate(b *testing.B) {
	for _, h := range []string{"gzip, deflate, br, zstd", "gzip;q=0.8, deflate, br;q=0.9, zstd;q=0.7, *;q=0.1"} {
		b.Run(strconv.Itoa(len(h)), func(b *testing.B) {
			hb := []byte(h)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Negotiate(hb, DefaultPreference)
			}
		})
	}
}

func BenchmarkTypeMatch(b *testing.B) {
	m, _ := NewTypeMatcher(DefaultTypes)
	for _, ct := range []string{"application/json; charset=utf-8", "application/vnd.api+json", "image/png"} {
		b.Run(ct, func(b *testing.B) {
			c := []byte(ct)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				m.Match(c)
			}
		})
	}
}

// benchLevels are the levels measured for docs/plugins-transform.md.
var benchLevels = []struct {
	e      Encoding
	levels []int
}{
	{Gzip, []int{1, 5, 6, 9}},
	{Brotli, []int{0, 1, 2, 4, 5, 6, 11}},
	{Zstd, []int{1, 3, 7, 22}},
}

// BenchmarkCompress measures one-shot compression. Besides MB/s it reports
// ns/KB (wall time per KiB of input), cpu-ns/KB (CPU time of the
// benchmark's own thread per KiB, Linux only: on a shared machine this is
// the figure to read; brotli 10-11 also use helper goroutines, which it
// does not count) and ratio (compressed/original).
func BenchmarkCompress(b *testing.B) {
	for _, kind := range []struct {
		name string
		gen  func(int) []byte
	}{{"json", jsonSample}, {"html", htmlSample}} {
		for _, size := range []int{1 << 10, 10 << 10, 100 << 10} {
			in := kind.gen(size)
			for _, bl := range benchLevels {
				for _, level := range bl.levels {
					name := kind.name + "/" + strconv.Itoa(size>>10) + "KB/" + bl.e.String() + "-" + strconv.Itoa(level)
					b.Run(name, func(b *testing.B) {
						c, err := NewCompressor(bl.e, level)
						if err != nil {
							b.Fatal(err)
						}
						dst := c.Append(make([]byte, 0, len(in)+1024), in)
						ratio := float64(len(dst)) / float64(len(in))
						b.SetBytes(int64(len(in)))
						b.ReportAllocs()
						runtime.LockOSThread()
						defer runtime.UnlockOSThread()
						cpu0, ok := threadCPU()
						b.ResetTimer()
						for i := 0; i < b.N; i++ {
							dst = c.Append(dst[:0], in)
						}
						b.StopTimer()
						kb := float64(len(in)) / 1024
						b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/kb, "ns/KB")
						if cpu1, _ := threadCPU(); ok {
							b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N)/kb, "cpu-ns/KB")
						}
						b.ReportMetric(ratio, "ratio")
					})
				}
			}
		}
	}
}

// BenchmarkStream measures the streaming writer on 100 KB written in 4 KB
// chunks, with and without a flush after every chunk (the SSE setting).
func BenchmarkStream(b *testing.B) {
	in := jsonSample(100 << 10)
	for _, e := range []Encoding{Gzip, Brotli, Zstd} {
		for _, flush := range []bool{false, true} {
			b.Run(e.String()+"/flush="+strconv.FormatBool(flush), func(b *testing.B) {
				c, _ := NewCompressor(e, DefaultLevel(e))
				var sink appendWriter
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sink.b = sink.b[:0]
					w := c.AcquireWriter(&sink, flush)
					for j := 0; j < len(in); j += 4096 {
						w.Write(in[j:min(j+4096, len(in))])
					}
					w.Close()
					c.ReleaseWriter(w)
				}
				b.ReportMetric(float64(len(sink.b))/float64(len(in)), "ratio")
			})
		}
	}
}
