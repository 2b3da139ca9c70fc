package gateway

import (
	"bufio"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moongate/moongate/core/config"
	_ "github.com/moongate/moongate/plugins/mock"
	"github.com/valyala/fasthttp"
)

// countingListener counts the writes made on the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestTenKilobyteResponseInOneWrite: a response of 10 KB (a cache hit, a
// buffered upstream answer) goes to the client in one write, one system
// call, rather than split across fasthttp's write buffer.
func TestTenKilobyteResponseInOneWrite(t *testing.T) {
	body := strings.Repeat("x", 10<<10)
	cfg, err := config.Parse("conn.toml", []byte(`
[admin]
listen = ""
[[plugins]]
name = "mock"
[plugins.config]
body = "`+body+`"
[[routes]]
paths = ["/"]
`))
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Runtime().Close(0)
	srv := g.newServer(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var writes atomic.Int32
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := listener{Listener: countingListener{ln, &writes}, buf: srv.ReadBufferSize}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeConn(server) //nolint:errcheck // ends when the client closes
	}()
	defer func() { client.Close(); <-done }()
	br := bufio.NewReader(client)
	for i := range 3 {
		writes.Store(0)
		if _, err := client.Write([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		var resp fasthttp.Response
		if err := resp.Read(br); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != 200 || len(resp.Body()) != len(body) {
			t.Fatalf("request %d: status %d, %d body bytes", i, resp.StatusCode(), len(resp.Body()))
		}
		if n := writes.Load(); n != 1 {
			t.Fatalf("request %d: the response took %d writes, want 1", i, n)
		}
	}
}
