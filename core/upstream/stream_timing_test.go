package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkStreamedBodyWrite: a 4 MB streamed response body of known
// length written by fasthttp through a 4 KB write buffer to a writer
// that counts nothing (the socket's syscalls are not in it: see
// TestStreamedBodyGoesOutInLargeWrites for their count).
func BenchmarkStreamedBodyWrite(b *testing.B) {
	const size = 4 << 20
	body := make([]byte, size)
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	src := bytes.NewReader(body)
	br := bufio.NewReaderSize(src, 16<<10)
	bw := bufio.NewWriterSize(io.Discard, 4096)
	t := &Target{}
	var resp fasthttp.Response
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body)
		br.Reset(src)
		sb := &streamBody{br: br, conn: c1, fixed: true, left: size, idle: time.Minute, t: t, release: func(bool) {}}
		resp.SetBodyStream(sb, size)
		if err := resp.Write(bw); err != nil {
			b.Fatal(err)
		}
		resp.Reset()
	}
}
