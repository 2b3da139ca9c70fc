package compress

import (
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	brotli "github.com/molecule-man/go-brrr"
)

// Level bounds per coding. Levels follow each format's usual scale:
// gzip 1 (fastest) to 9, brotli 0 to 11, zstd 1 to 22 (mapped by
// klauspost/compress onto its four speeds: 1-2 fastest, 3-5 default,
// 6-9 better, 10-22 best).
var levelRange = [numEncodings][2]int{Gzip: {1, 9}, Brotli: {0, 11}, Zstd: {1, 22}}

// DefaultLevel returns the level used when the configuration sets none,
// chosen for on-the-fly compression of API and HTML responses (see
// docs/plugins-transform.md for the measurements): gzip 5, brotli 4,
// zstd 3.
func DefaultLevel(e Encoding) int {
	switch e {
	case Gzip:
		return 5
	case Brotli:
		return 4
	case Zstd:
		return 3
	}
	return 0
}

// ZstdWindow is the largest back-reference distance of the zstd streams
// produced here (1 MiB): it bounds a pooled encoder's memory, and stays
// well under the 8 MiB window that RFC 8878 §3.1.1.1.2 lets HTTP clients
// refuse to exceed.
const ZstdWindow = 1 << 20

// Compressor compresses with one coding at one level. It keeps pools of
// encoders, so build one per configured (coding, level) at load time and
// share it: it is safe for concurrent use.
type Compressor struct {
	enc   Encoding
	level int
	pool  sync.Pool // of *state
	zstd  *zstd.Encoder
}

// state is one pooled encoder and the writer it appends to.
type state struct {
	c  *Compressor
	gz *gzip.Writer
	br *brotli.Writer
	zs *zstd.Encoder
	aw appendWriter
}

type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// zstdOptions are the encoder settings: concurrency 0 means GOMAXPROCS
// block encoders (for the shared one-shot encoder); a streaming encoder
// has one, and trades a little speed for memory since many can be pooled.
func zstdOptions(level, concurrency int, lowMem bool) []zstd.EOption {
	return []zstd.EOption{
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithWindowSize(ZstdWindow),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderConcurrency(concurrency),
		zstd.WithLowerEncoderMem(lowMem),
	}
}

// NewCompressor returns a Compressor for coding e at level. The level must
// be in the coding's range (gzip 1-9, br 0-11, zstd 1-22).
func NewCompressor(e Encoding, level int) (*Compressor, error) {
	if e == Identity || e >= numEncodings {
		return nil, errors.New("compress: no compressor for " + e.String())
	}
	r := levelRange[e]
	if level < r[0] || level > r[1] {
		return nil, errors.New(e.String() + " level must be between " + strconv.Itoa(r[0]) + " and " + strconv.Itoa(r[1]) + ", got " + strconv.Itoa(level))
	}
	c := &Compressor{enc: e, level: level}
	if e == Zstd {
		// EncodeAll is safe for concurrent use and keeps its own block
		// encoders: one shared Encoder serves every one-shot call.
		var err error
		if c.zstd, err = zstd.NewWriter(nil, zstdOptions(level, 0, false)...); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Encoding returns the coding c produces.
func (c *Compressor) Encoding() Encoding { return c.enc }

// Level returns the level c compresses at.
func (c *Compressor) Level() int { return c.level }

func (c *Compressor) get() *state {
	if s, ok := c.pool.Get().(*state); ok {
		return s
	}
	s := &state{c: c}
	switch c.enc {
	case Gzip:
		s.gz, _ = gzip.NewWriterLevel(nil, c.level) // level checked by NewCompressor
	case Brotli:
		s.br, _ = brotli.NewWriter(nil, c.level)
	case Zstd:
		s.zs, _ = zstd.NewWriter(nil, zstdOptions(c.level, 1, true)...)
	}
	return s
}

// Append appends the compressed form of src to dst (one complete stream)
// and returns the extended slice. In steady state it allocates nothing but
// the growth of dst.
func (c *Compressor) Append(dst, src []byte) []byte {
	if c.enc == Zstd {
		return c.zstd.EncodeAll(src, dst)
	}
	s := c.get()
	s.aw.b = dst
	switch c.enc {
	case Gzip:
		s.gz.Reset(&s.aw)
		s.gz.Write(src) // an appendWriter never fails
		s.gz.Close()
	case Brotli:
		s.br.ResetWithSizeHint(&s.aw, uint(len(src)))
		s.br.Write(src)
		s.br.Close()
	}
	dst = s.aw.b
	s.aw.b = nil
	c.pool.Put(s)
	return dst
}

// Writer compresses a stream into an io.Writer, for bodies that are not
// in memory. Get one with AcquireWriter, finish the stream with Close and
// give it back with ReleaseWriter. A Writer is not safe for concurrent
// use.
type Writer struct {
	s         *state
	w         io.WriteCloser
	flushEach bool
	flusher   interface{ Flush() error }
}

// AcquireWriter returns a Writer that compresses into w. With
// flushEachWrite, every Write is followed by a Flush, so each chunk
// written (an SSE event, say) reaches w as a decodable unit at once,
// at some cost in ratio; if w itself buffers, the caller flushes it too.
func (c *Compressor) AcquireWriter(w io.Writer, flushEachWrite bool) *Writer {
	s := c.get()
	zw := &Writer{s: s, flushEach: flushEachWrite}
	switch c.enc {
	case Gzip:
		s.gz.Reset(w)
		zw.w, zw.flusher = s.gz, s.gz
	case Brotli:
		s.br.Reset(w)
		zw.w, zw.flusher = s.br, s.br
	case Zstd:
		s.zs.Reset(w)
		zw.w, zw.flusher = s.zs, s.zs
	}
	return zw
}

// Write compresses p into the stream.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err == nil && w.flushEach {
		err = w.flusher.Flush()
	}
	return n, err
}

// Flush writes what has been compressed so far to the underlying writer,
// so the receiver can decode everything written up to now.
func (w *Writer) Flush() error { return w.flusher.Flush() }

// Close ends the stream (writes the final block and trailer). It does not
// close the underlying writer.
func (w *Writer) Close() error { return w.w.Close() }

// ReleaseWriter gives w back to c's pool, whether its stream was closed or
// abandoned (client gone). w must not be used afterwards.
func (c *Compressor) ReleaseWriter(w *Writer) {
	s := w.s
	// Drop the reference to the destination so the pool keeps nothing of
	// the request alive.
	switch c.enc {
	case Gzip:
		s.gz.Reset(io.Discard)
	case Brotli:
		s.br.Reset(io.Discard)
	case Zstd:
		s.zs.Reset(io.Discard)
	}
	*w = Writer{}
	c.pool.Put(s)
}
