package compress

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	brotli "github.com/molecule-man/go-brrr"
)

// ErrTooLarge is returned by AppendDecompressed when the decoded body
// would exceed the caller's limit.
var ErrTooLarge = errors.New("compress: decompressed body exceeds the limit")

var (
	gzipReaders   sync.Pool // of *gzip.Reader
	brotliReaders sync.Pool // of *brotli.Reader
	zstdReaders   sync.Pool // of *zstd.Decoder
	bytesReaders  = sync.Pool{New: func() any { return new(bytes.Reader) }}
)

// AppendDecompressed appends the decoded form of src, a complete body in
// coding e, to dst. It stops with ErrTooLarge once more than limit bytes
// have been decoded (a small body can expand a thousandfold), and with an
// error for a corrupt stream; dst's content beyond its original length is
// then undefined. Identity copies src (within the limit).
func AppendDecompressed(dst, src []byte, e Encoding, limit int) ([]byte, error) {
	if e == Identity {
		if len(src) > limit {
			return dst, ErrTooLarge
		}
		return append(dst, src...), nil
	}
	br := bytesReaders.Get().(*bytes.Reader)
	br.Reset(src)
	defer func() { br.Reset(nil); bytesReaders.Put(br) }()
	var r io.Reader
	switch e {
	case Gzip:
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(br)
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return dst, err
		}
		zr.Multistream(true)
		defer gzipReaders.Put(zr)
		r = zr
	case Brotli:
		zr, _ := brotliReaders.Get().(*brotli.Reader)
		if zr == nil {
			zr = brotli.NewReader(br)
		} else {
			zr.Reset(br)
		}
		defer brotliReaders.Put(zr)
		r = zr
	case Zstd:
		zr, _ := zstdReaders.Get().(*zstd.Decoder)
		var err error
		if zr == nil {
			zr, err = zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(8<<20))
		} else {
			err = zr.Reset(br)
		}
		if err != nil {
			return dst, err
		}
		defer func() { zr.Reset(nil); zstdReaders.Put(zr) }()
		r = zr
	default:
		return dst, errors.New("compress: cannot decode " + e.String())
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := dst[len(dst):cap(dst)]
		if over := len(dst) - start + len(room) - (limit + 1); over > 0 {
			room = room[:len(room)-over]
		}
		n, err := r.Read(room)
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst, ErrTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}
