package upstream

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestPrepareClientHeaders(t *testing.T) {
	for _, tc := range []struct {
		name      string
		websocket bool
		headers   []string // name, value pairs, in order
		gone      []string
		kept      map[string]string
		close     bool
	}{
		{name: "every kind", headers: []string{"Connection", "keep-alive, X-A, x-b", "X-A", "1", "X-B", "2",
			"Keep-Alive", "timeout=5", "TE", "trailers", "Upgrade", "websocket", "Proxy-Authorization", "secret",
			"Proxy-Foo", "x", "X-Keep", "yes"},
			gone: []string{"Connection", "X-A", "X-B", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization", "Proxy-Foo"},
			kept: map[string]string{"X-Keep": "yes"}},
		{name: "every Connection line counts", headers: []string{"Connection", "keep-alive", "Connection", "X-A",
			"connection", "X-B, X-C", "X-A", "1", "X-B", "2", "X-C", "3"},
			gone: []string{"Connection", "X-A", "X-B", "X-C"}},
		{name: "end-to-end headers are not connection options", headers: []string{"Connection",
			"Host, Content-Length, X-Forwarded-For, x-forwarded-proto, X-Forwarded-Host, X-Real-IP, Forwarded, X-Gone",
			"X-Forwarded-For", "10.0.0.1", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "a.example",
			"X-Real-IP", "10.0.0.1", "Forwarded", "for=10.0.0.1", "X-Gone", "x"},
			gone: []string{"Connection", "X-Gone"},
			kept: map[string]string{"Host": "api.example", "X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https",
				"X-Forwarded-Host": "a.example", "X-Real-IP": "10.0.0.1", "Forwarded": "for=10.0.0.1"}},
		{name: "repeated forwarding lines are joined in order", headers: []string{"Connection", "keep-alive",
			"X-Forwarded-For", "10.0.0.1", "Keep-Alive", "timeout=5", "X-Forwarded-For", "203.0.113.9, 10.0.0.2",
			"X-Forwarded-Proto", "http", "x-forwarded-proto", "https", "X-Forwarded-Host", "a.example",
			"X-Real-IP", "10.0.0.3", "X-Real-IP", "10.0.0.4"},
			gone: []string{"Connection", "Keep-Alive"},
			kept: map[string]string{"X-Forwarded-For": "10.0.0.1, 203.0.113.9, 10.0.0.2", "X-Forwarded-Proto": "http, https",
				"X-Forwarded-Host": "a.example", "X-Real-IP": "10.0.0.3, 10.0.0.4"}},
		{name: "close stays known", headers: []string{"Connection", "close, X-A", "X-A", "1"},
			gone: []string{"X-A"}, close: true},
		{name: "WebSocket handshake on a websocket route", websocket: true,
			headers: []string{"Connection", "keep-alive, Upgrade, X-A", "Upgrade", "websocket", "X-A", "1", "Sec-WebSocket-Key", "k"},
			gone:    []string{"X-A"},
			kept:    map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": "k"}},
		{name: "WebSocket handshake on another route",
			headers: []string{"Connection", "Upgrade", "Upgrade", "websocket"},
			gone:    []string{"Connection", "Upgrade"}},
		{name: "other upgrades on a websocket route", websocket: true,
			headers: []string{"Connection", "Upgrade", "Upgrade", "h2c"},
			gone:    []string{"Connection", "Upgrade"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Parsed from the wire, as the server does: Add would merge
			// the Connection lines.
			raw := "GET / HTTP/1.1\r\nHost: api.example\r\n"
			for i := 0; i+1 < len(tc.headers); i += 2 {
				raw += tc.headers[i] + ": " + tc.headers[i+1] + "\r\n"
			}
			var h fasthttp.RequestHeader
			if err := h.Read(bufio.NewReader(strings.NewReader(raw + "\r\n"))); err != nil {
				t.Fatal(err)
			}
			PrepareClientHeaders(&h, tc.websocket)
			for _, k := range tc.gone {
				if v := h.PeekAll(k); len(v) > 0 && !(k == "Connection" && tc.close) {
					t.Errorf("%s survived: %q", k, v)
				}
			}
			for k, want := range tc.kept {
				if got := h.PeekAll(k); len(got) != 1 || string(got[0]) != want {
					t.Errorf("%s = %q, want one line %q", k, got, want)
				}
			}
			if h.ConnectionClose() != tc.close {
				t.Errorf("ConnectionClose() = %v, want %v", h.ConnectionClose(), tc.close)
			}
		})
	}
}

func TestLastElement(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{nil, ""},
		{[]string{"https"}, "https"},
		{[]string{"http", "https"}, "https"},
		{[]string{"http, https "}, "https"},
		{[]string{"https", " , "}, "https"},
		{[]string{"", ""}, ""},
	} {
		var lines [][]byte
		for _, l := range tc.lines {
			lines = append(lines, []byte(l))
		}
		if got := string(lastElement(lines)); got != tc.want {
			t.Errorf("lastElement(%q) = %q, want %q", tc.lines, got, tc.want)
		}
	}
}

func TestHopBit(t *testing.T) {
	for name, want := range map[string]uint16{
		"connection": hopConnection, "KEEP-ALIVE": hopKeepAlive, "Te": hopTE, "Trailer": hopTrailer,
		"Transfer-Encoding": hopTransferEncoding, "upgrade": hopUpgrade, "Proxy-Anything": hopProxy,
		"Proxy-": 0, "X-Proxy-Foo": 0, "Content-Type": 0, "Tee": 0,
	} {
		if got := hopBit([]byte(name)); got != want {
			t.Errorf("hopBit(%q) = %b, want %b", name, got, want)
		}
	}
}

func TestRoundRobinFollowsWeights(t *testing.T) {
	a, b := &Target{URL: "a", Weight: 3}, &Target{URL: "b", Weight: 1}
	bal, _ := newRoundRobin([]*Target{a, b}, nil)
	counts := map[string]int{}
	for i := 0; i < 400; i++ {
		counts[bal.Pick(nil, Filter{}).URL]++
	}
	if counts["a"] != 300 || counts["b"] != 100 {
		t.Errorf("picks %v, want a=300 b=100", counts)
	}
}

func TestManyProxyHeadersAreAllRemoved(t *testing.T) {
	var h fasthttp.ResponseHeader
	for i := 0; i < 20; i++ {
		h.Set("Proxy-X"+string(rune('a'+i)), "v")
	}
	stripResponseHopByHop(&h)
	n := 0
	for k := range h.All() {
		if hopBit(k) == hopProxy {
			n++
		}
	}
	if n != 0 {
		t.Errorf("%d Proxy-* headers survived", n)
	}
}
