package gateway

import (
	"bufio"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/valyala/fasthttp"
)

// typicalHead is a browser-like request head of 9 header lines.
const typicalHead = "GET /api/items/42?verbose=1 HTTP/1.1\r\nHost: api.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: application/json\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
	"X-API-Key: 0123456789abcdef0123456789abcdef\r\nConnection: keep-alive\r\n" +
	"Cookie: session=abcdef0123456789; theme=dark\r\nX-Request-Id: 7f9c2b1e-5d3a-4c8e-9b6f-1a2b3c4d5e6f\r\n\r\n"

// parsedRequest returns a RequestCtx holding typicalHead as fasthttp's
// server parses it.
func parsedRequest(tb testing.TB) *fasthttp.RequestCtx {
	var fc fasthttp.RequestCtx
	if err := fc.Request.Header.Read(bufio.NewReader(strings.NewReader(typicalHead))); err != nil {
		tb.Fatal(err)
	}
	return &fc
}

// BenchmarkCheckRequest is what the protocol checks add to every request:
// one pass over the raw header lines (count, Transfer-Encoding, bare LF)
// and one over the request target.
func BenchmarkCheckRequest(b *testing.B) {
	rt := &Runtime{strictPaths: true, maxHeaderCount: 100, Config: config.Default()}
	fc := parsedRequest(b)
	path := fc.Request.URI().Path()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if status, msg := rt.checkRequest(fc, path); status != 0 {
			b.Fatal(status, msg)
		}
	}
}

// BenchmarkHeadScan is what conn adds to reading a request head.
func BenchmarkHeadScan(b *testing.B) {
	head := []byte(typicalHead)
	b.ReportAllocs()
	b.SetBytes(int64(len(head)))
	for i := 0; i < b.N; i++ {
		h := headScan{state: headLead}
		h.scan(head)
		if h.bad || h.state != headDone {
			b.Fatal("the head was not read")
		}
	}
}

func TestCheckRequestDoesNotAllocate(t *testing.T) {
	rt := &Runtime{strictPaths: true, maxHeaderCount: 100, Config: config.Default()}
	fc := parsedRequest(t)
	path := fc.Request.URI().Path()
	if n := testing.AllocsPerRun(200, func() { rt.checkRequest(fc, path) }); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
	if status, msg := rt.checkRequest(fc, path); status != 0 {
		t.Errorf("the typical head is refused: %d %s", status, msg)
	}
}
