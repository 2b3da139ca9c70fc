package accesslog

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func BenchmarkAppendJSON(b *testing.B) {
	r := fullRecord()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf = AppendJSON(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendCombined(b *testing.B) {
	r := fullRecord()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf = AppendCombined(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendTemplate(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"issue", "$time_iso8601 $request_id $status $request_time"},
		{"combined", `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tpl, err := NewTemplate(bc.text, EscapeDefault)
			if err != nil {
				b.Fatal(err)
			}
			r := fullRecord()
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				buf = tpl.Append(buf[:0], r)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkAppendRedactedQuery(b *testing.B) {
	q := []byte("page=2&api_key=s3cret&sort=asc&filter=name")
	names := []string{"api_key", "jwt"}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf = AppendRedactedQuery(buf[:0], q, names)
	}
}

// BenchmarkWriter measures Write from every P at once, formatting
// included (as the plugin will do), to io.Discard and to a file; and Write
// alone, the line formatted once.
func BenchmarkWriter(b *testing.B) {
	b.Run("write-only", func(b *testing.B) {
		w := New(io.Discard, Options{})
		line := AppendJSON(nil, fullRecord())
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w.Write(line)
			}
		})
		b.StopTimer()
		w.Close()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		b.ReportMetric(float64(w.Dropped())/float64(b.N), "dropped/op")
	})
	b.Run("discard", func(b *testing.B) { benchWriter(b, New(io.Discard, Options{})) })
	b.Run("file", func(b *testing.B) {
		w, err := Open(filepath.Join(b.TempDir(), "access.log"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchWriter(b, w)
	})
}

func benchWriter(b *testing.B, w *Writer) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := fullRecord()
		buf := make([]byte, 0, 1024)
		for pb.Next() {
			buf = AppendJSON(buf[:0], r)
			w.Write(buf)
		}
	})
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "dropped/op")
}

// BenchmarkWriterBaseline is the textbook alternative beside it: one
// mutex around a bufio.Writer of the same size, written under the lock.
func BenchmarkWriterBaseline(b *testing.B) {
	b.Run("write-only", func(b *testing.B) {
		var mu sync.Mutex
		bw := bufio.NewWriterSize(io.Discard, DefaultBufferSize)
		line := AppendJSON(nil, fullRecord())
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				bw.Write(line)
				mu.Unlock()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	})
	b.Run("discard", func(b *testing.B) { benchBaseline(b, io.Discard) })
	b.Run("file", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		benchBaseline(b, f)
	})
}

func benchBaseline(b *testing.B, out io.Writer) {
	var mu sync.Mutex
	bw := bufio.NewWriterSize(out, DefaultBufferSize)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := fullRecord()
		buf := make([]byte, 0, 1024)
		for pb.Next() {
			buf = AppendJSON(buf[:0], r)
			mu.Lock()
			bw.Write(buf)
			mu.Unlock()
		}
	})
	b.StopTimer()
	bw.Flush()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
