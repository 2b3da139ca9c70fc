package gateway

import (
	"testing"

	"github.com/moongate/moongate/core/internal/metric"
	"github.com/valyala/fasthttp"
)

// The head scan must reach the same verdict however the bytes are split
// between reads.
func TestHeadScanEverySplit(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		bad      bool
	}{
		{"CRLF head and a body with bare LFs", "GET / HTTP/1.1\r\nHost: a\r\n\r\nx\n\ny\n", false},
		{"empty lines before the request line", "\r\n\nGET / HTTP/1.0\r\n\r\n", false},
		{"bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", true},
		{"bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", true},
		{"bare LF then CRLF", "GET / HTTP/1.1\r\nHost: a\n\r\n", true},
		{"bare LF after the request line", "GET / HTTP/1.1\n\r\n", true},
		{"bare LF in one field", "POST /x HTTP/1.1\r\nA: 1\nB: 2\r\n\r\n", true},
		{"a body, not a head", "hello\n\nworld\n", false},
		{"the middle of a head", "Host: a\n\n", false},
		{"a request line without a version", "GET /\n\n", false},
		{"a long request line", "GET /" + string(make([]byte, 300)) + " HTTP/1.1\nHost: a\r\n\r\n", true},
	} {
		for split := 0; split <= len(tc.in); split++ {
			for _, step := range []int{1, 3, len(tc.in) + 1} {
				var h headScan
				h.state = headLead
				in := []byte(tc.in)
				feed := func(b []byte) {
					for len(b) > 0 {
						n := min(step, len(b))
						h.scan(b[:n])
						b = b[n:]
					}
				}
				feed(in[:split])
				feed(in[split:])
				if h.bad != tc.bad {
					t.Fatalf("%s, split at %d, reads of %d: bad = %v, want %v", tc.name, split, step, h.bad, tc.bad)
				}
			}
		}
	}
}

func TestScanFields(t *testing.T) {
	for _, tc := range []struct {
		raw        string
		fields     int
		te, bareLF bool
	}{
		{"", 0, false, false},
		{"Host: a\r\n\r\n", 1, false, false},
		{"Host: a\r\nX:\r\nX:\r\nX-A: 1\r\n\r\n", 4, false, false},
		{"Host: a\r\ntransfer-encoding: identity\r\n\r\n", 2, true, false},
		{"Host: a\r\nTransfer-Encodings: x\r\n\r\n", 2, false, false},
		{"Host: a\nX: 1\r\n\r\n", 2, false, true},
		{"Host: a\r\n\n", 1, false, true},
	} {
		fields, te, bareLF := scanFields([]byte(tc.raw))
		if fields != tc.fields || te != tc.te || bareLF != tc.bareLF {
			t.Errorf("%q: got %d %v %v, want %d %v %v", tc.raw, fields, te, bareLF, tc.fields, tc.te, tc.bareLF)
		}
	}
}

// TestStateClosedOfAParkedConnection: fasthttp reports StateClosed after
// the Close that parks an idle connection, and by then the parker may be
// serving the connection's next request on another goroutine. That
// report must leave the next request's pending metrics alone (before,
// it ended them early, before their response was written, and raced
// with the goroutine serving it).
func TestStateClosedOfAParkedConnection(t *testing.T) {
	b := metric.NewRegistry().Begin()
	for _, st := range []int32{connParked, connServing} {
		c := &conn{}
		c.state.Store(st)
		pending := newRouteMetrics(b, "r")
		c.meter.m = pending
		connState(c, fasthttp.StateClosed)
		if c.meter.m != pending {
			t.Fatalf("state %d: StateClosed ended the next request's metrics", st)
		}
	}
	// A connection closed for good still ends what it had pending.
	c := &conn{}
	c.state.Store(connClosed)
	c.meter.m = newRouteMetrics(b, "s")
	connState(c, fasthttp.StateClosed)
	if c.meter.m != nil {
		t.Fatal("StateClosed of a closed connection left its metrics pending")
	}
}
