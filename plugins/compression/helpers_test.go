package compression

import (
	"bytes"
	"io"

	"github.com/klauspost/compress/gzip"
)

func gzipReader(b []byte) (io.Reader, error) { return gzip.NewReader(bytes.NewReader(b)) }
