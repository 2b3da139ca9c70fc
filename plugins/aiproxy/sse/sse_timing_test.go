package sse

import (
	"io"
	"testing"
)

// loop is a source that repeats a stream forever, handing it out in reads
// of at most n bytes (n = 0: whole stream per read).
type loop struct {
	stream []byte
	off, n int
}

func (l *loop) Read(p []byte) (int, error) {
	if l.n > 0 && len(p) > l.n {
		p = p[:l.n]
	}
	total := 0
	for len(p) > 0 {
		c := copy(p, l.stream[l.off:])
		l.off = (l.off + c) % len(l.stream)
		p = p[c:]
		total += c
		if l.n > 0 {
			break
		}
	}
	return total, nil
}

var anthropicDelta = []byte("event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello, wörld\"}}\r\n\r\n")

// TestReaderDoesNotAllocate guards the pass-through budget: a warm Reader
// allocates nothing per event, also when events are split across reads
// and when they have several data lines.
func TestReaderDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, tc := range []struct {
		name   string
		stream []byte
		n      int
	}{
		{"whole reads", anthropicDelta, 0},
		{"7-byte reads", anthropicDelta, 7},
		{"multi-line data", []byte("data: a\ndata: b\ndata: c\n\n"), 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(&loop{stream: tc.stream, n: tc.n}, 0)
			for i := 0; i < 100; i++ { // warm up the buffers
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			if n := testing.AllocsPerRun(1000, func() {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Fatalf("%v allocations per event, want 0", n)
			}
		})
	}
}

func BenchmarkReader(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
	}{{"whole", 0}, {"split-7", 7}} {
		b.Run(bc.name, func(b *testing.B) {
			r := NewReader(&loop{stream: anthropicDelta, n: bc.n}, 0)
			b.SetBytes(int64(len(anthropicDelta)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := r.Next(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriter(b *testing.B) {
	w := NewWriter(io.Discard)
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"}}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.WriteEvent(nil, data); err != nil {
			b.Fatal(err)
		}
	}
}
