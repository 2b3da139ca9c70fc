package upstream

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// writeCounter counts the writes that reach it, as the client socket
// would see them.
type writeCounter struct {
	writes int
	buf    bytes.Buffer
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

// TestStreamedBodyGoesOutInLargeWrites: a streamed response body of known
// length reaches the client socket in writes of at least 32 KB, not in
// the 4 KB pieces of the server's write buffer (4 MB: at most 128 writes,
// where 4 KB pieces take 1 024 write syscalls; each write costs a
// syscall, and 100 MB streamed cost twice the CPU per KB of a buffered
// 1 MB body). The bytes are the upstream's, in order.
func TestStreamedBodyGoesOutInLargeWrites(t *testing.T) {
	const size = 4 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	released := false
	sb := &streamBody{br: bufio.NewReaderSize(bytes.NewReader(body), 16<<10), conn: c1, fixed: true, left: size,
		idle: time.Minute, t: &Target{}, release: func(bool) { released = true }}
	var resp fasthttp.Response
	resp.SetBodyStream(sb, size)
	w := &writeCounter{}
	bw := bufio.NewWriterSize(w, 4096) // fasthttp's default WriteBufferSize
	if err := resp.Write(bw); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	_, got, _ := bytes.Cut(w.buf.Bytes(), []byte("\r\n\r\n"))
	if !bytes.Equal(got, body) {
		t.Fatalf("the client got %d bytes, not the upstream's %d", len(got), size)
	}
	if w.writes > size/(32<<10) {
		t.Errorf("%d writes for a %d-byte streamed body (%d bytes each on average), want at most %d",
			w.writes, size, size/w.writes, size/(32<<10))
	}
	if !released {
		t.Error("the upstream connection was not released at the end of the body")
	}
}
