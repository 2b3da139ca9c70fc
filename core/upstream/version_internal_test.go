package upstream

import (
	"net"
	"testing"
)

// TestForwardHTTP10AllocatesNothing: a request from an HTTP/1.0 client,
// sent upstream as HTTP/1.1 and given its version back, allocates
// nothing either (a buffered response; a streamed one of unknown length
// takes the connection over and allocates).
func TestForwardHTTP10AllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	u, fc, r := forwardSetup(t, "round-robin")
	req := benchRequest()
	req.Header.SetProtocol("HTTP/1.0")
	fc.Init(req, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}, nil)
	for range 10 {
		forwardOnce(t, u, fc, r, req)
	}
	if n := testing.AllocsPerRun(200, func() { forwardOnce(t, u, fc, r, req) }); n != 0 {
		t.Fatalf("got %v allocs per forwarded HTTP/1.0 request, want 0", n)
	}
	if p := string(fc.Request.Header.Protocol()); p != "HTTP/1.0" {
		t.Fatalf("the client's version is %q after the upstream call, want HTTP/1.0 back", p)
	}
}
