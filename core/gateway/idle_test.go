package gateway_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/bench/idle"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/internal/metric"
	"github.com/valyala/fasthttp"
)

// idleUpstream answers every request with its method, path and body.
func idleUpstream(t *testing.T) *gatewaytest.Upstream {
	return gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(string(ctx.Method()) + " " + string(ctx.Path()) + " " + string(ctx.Request.Body()))
	})
}

func idleGateway(t *testing.T, server string, up *gatewaytest.Upstream) *gatewaytest.Gateway {
	return gatewaytest.Start(t, "[server]\nlisten = \"127.0.0.1:0\"\n"+server+`
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
`)
}

// needParking skips a test on systems where idle connections are not
// parked (neither epoll nor a Unix socket to wait on).
func needParking(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("idle connections are not parked on " + runtime.GOOS)
	}
}

// waitParked waits until g holds n parked connections.
func waitParked(t *testing.T, g *gatewaytest.Gateway, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for gateway.ParkedConns(g.Gateway) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections parked, want %d", gateway.ParkedConns(g.Gateway), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exchange writes a raw request on c and reads its response.
func exchange(t *testing.T, c net.Conn, br *bufio.Reader, raw string) *fasthttp.Response {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp := &fasthttp.Response{}
	if err := resp.Read(br); err != nil {
		t.Fatalf("read: %v", err)
	}
	return resp
}

// TestIdleConnectionsHoldLittleMemory opens 2000 keep-alive connections
// to a gateway with the default configuration, one request answered on
// each, and checks what they cost in memory (heap and goroutine stacks,
// this process holding both ends) once they are idle. A connection idle
// between requests used to keep about 22 KB: its serving goroutine, its
// request context, and read and write buffers.
func TestIdleConnectionsHoldLittleMemory(t *testing.T) {
	needParking(t)
	if raceEnabled {
		t.Skip("the race detector changes what memory costs")
	}
	const n = 2000
	const maxPerConn = 2 << 10
	up := idleUpstream(t)
	g := idleGateway(t, "", up)
	addr := g.Addrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	warm, err := idle.Open(ctx, addr, 64, idle.Options{Path: "/warm"})
	if err != nil {
		t.Fatal(err)
	}
	warm.Close()

	inUse := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC() // pools keep their objects for one more cycle
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc + m.StackInuse)
	}
	before := inUse()
	conns, err := idle.Open(ctx, addr, n, idle.Options{Path: "/x", Parallel: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer conns.Close()
	// Idle connections settle within moments; the loop only bounds the wait.
	var per int64
	for deadline := time.Now().Add(20 * time.Second); ; {
		per = (inUse() - before) / n
		if per <= maxPerConn || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d idle connections: %d bytes each (both ends)", n, per)
	if per > maxPerConn {
		t.Errorf("%d idle connections hold %d bytes each, want at most %d", n, per, maxPerConn)
	}
	if alive := conns.Alive(); alive != n {
		t.Errorf("%d of %d idle connections still open, want all", alive, n)
	}
}

// TestParkedConnectionServesItsNextRequests parks a keep-alive
// connection between requests and sends more on it: a GET, a chunked
// POST whose body streams upstream, and two pipelined requests. Each is
// answered on the same connection, with the epoll watch and with the
// portable one (a goroutine per parked connection), and without
// read_timeout (a woken connection must not keep the deadline of its
// wait).
func TestParkedConnectionServesItsNextRequests(t *testing.T) {
	needParking(t)
	for _, tc := range []struct {
		name   string
		poller bool
		server string
	}{
		{"epoll", true, ""},
		{"goroutine", false, ""},
		{"no read_timeout", true, `read_timeout = "0s"`},
		{"goroutine without read_timeout", false, `read_timeout = "0s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := gateway.UsePoller(tc.poller)
			up := idleUpstream(t)
			g := idleGateway(t, tc.server, up)
			gateway.UsePoller(old)
			c, err := net.Dial("tcp", g.Addrs()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			host := "Host: gw\r\n"
			want := func(resp *fasthttp.Response, body string) {
				t.Helper()
				if resp.StatusCode() != 200 || string(resp.Body()) != body || resp.ConnectionClose() {
					t.Fatalf("got %d %q (close %v), want 200 %q", resp.StatusCode(), resp.Body(), resp.ConnectionClose(), body)
				}
			}
			want(exchange(t, c, br, "GET /one HTTP/1.1\r\n"+host+"\r\n"), "GET /one ")
			waitParked(t, g, 1)
			want(exchange(t, c, br, "GET /two HTTP/1.1\r\n"+host+"\r\n"), "GET /two ")
			waitParked(t, g, 1)
			want(exchange(t, c, br, "POST /three HTTP/1.1\r\n"+host+"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
				"POST /three hello world")
			waitParked(t, g, 1)
			want(exchange(t, c, br, "GET /four HTTP/1.1\r\n"+host+"\r\nGET /five HTTP/1.1\r\n"+host+"\r\n"), "GET /four ")
			resp := &fasthttp.Response{}
			if err := resp.Read(br); err != nil {
				t.Fatal(err)
			}
			want(resp, "GET /five ")
			waitParked(t, g, 1)
			if hits := up.Hits(); hits != 5 {
				t.Errorf("upstream got %d requests, want 5", hits)
			}
		})
	}
}

// TestParkWithTheRequestAlreadyThere parks a connection at every wait,
// at once, while the client sends its next request at once: the request
// is often there before the wait for it begins, and must wake the
// connection (epoll and the goroutine wait). 200 requests on one
// connection, each answered within 10 s.
func TestParkWithTheRequestAlreadyThere(t *testing.T) {
	needParking(t)
	for _, poller := range []bool{true, false} {
		name := "epoll"
		if !poller {
			name = "goroutine wait"
		}
		t.Run(name, func(t *testing.T) {
			oldPoller, oldAfter := gateway.UsePoller(poller), gateway.SetParkAfter(time.Nanosecond)
			up := idleUpstream(t)
			g := idleGateway(t, "", up)
			gateway.UsePoller(oldPoller)
			gateway.SetParkAfter(oldAfter)
			c, err := net.Dial("tcp", g.Addrs()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := range 200 {
				path := "/" + strconv.Itoa(i)
				resp := exchange(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: gw\r\n\r\n")
				if resp.StatusCode() != 200 || string(resp.Body()) != "GET "+path+" " {
					t.Fatalf("request %d: got %d %q", i, resp.StatusCode(), resp.Body())
				}
			}
		})
	}
}

// TestParkedConnectionClosedAtIdleTimeout: a parked connection is closed
// once it has been idle for idle_timeout, as one that is not parked.
func TestParkedConnectionClosedAtIdleTimeout(t *testing.T) {
	needParking(t)
	up := idleUpstream(t)
	g := idleGateway(t, `idle_timeout = "1s"`, up)
	c, err := net.Dial("tcp", g.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	exchange(t, c, br, "GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
	waitParked(t, g, 1)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("read %q, %v; want EOF (closed at idle_timeout)", n, err)
	}
	waitParked(t, g, 0)
}

// TestShutdownClosesParkedConnections: Shutdown closes parked
// connections at once, like idle ones.
func TestShutdownClosesParkedConnections(t *testing.T) {
	needParking(t)
	up := idleUpstream(t)
	g := idleGateway(t, "", up)
	c, err := net.Dial("tcp", g.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	exchange(t, c, br, "GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
	waitParked(t, g, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("read %q, %v; want EOF", n, err)
	}
}

// TestMaxConnectionsCountsParkedConnections: parked connections are open
// connections: with max_connections = 2 and two parked, a third gets 503
// and is closed; once a client closes one, a new connection is served.
func TestMaxConnectionsCountsParkedConnections(t *testing.T) {
	needParking(t)
	up := idleUpstream(t)
	g := idleGateway(t, "max_connections = 2", up)
	addr := g.Addrs()[0]
	get := "GET / HTTP/1.1\r\nHost: gw\r\n\r\n"
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if resp := exchange(t, c, bufio.NewReader(c), get); resp.StatusCode() != 200 {
			t.Fatalf("got %d, want 200", resp.StatusCode())
		}
		open = append(open, c)
	}
	waitParked(t, g, 2)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	resp := exchange(t, c, bufio.NewReader(c), get)
	c.Close()
	if resp.StatusCode() != 503 || !resp.ConnectionClose() || !strings.Contains(string(resp.Body()), "too many open connections") {
		t.Fatalf("third connection: got %d %q, want 503 and close", resp.StatusCode(), resp.Body())
	}
	open[0].Close()
	waitParked(t, g, 1)
	// The gateway counts the close once it has read it; a new connection
	// is then served.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		resp := exchange(t, c, bufio.NewReader(c), get)
		c.Close()
		if resp.StatusCode() == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a close: got %d, want 200", resp.StatusCode())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestParkedTLSConnection parks an HTTPS keep-alive connection and sends
// its next requests: they are still known to have come over TLS
// (X-Forwarded-Proto upstream).
func TestParkedTLSConnection(t *testing.T) {
	needParking(t)
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(string(ctx.Path()) + " " + string(ctx.Request.Header.Peek("X-Forwarded-Proto")))
	})
	cert, key := selfSigned(t)
	g := idleGateway(t, "[server.tls]\nlisten = \"127.0.0.1:0\"\ncert = \""+cert+"\"\nkey = \""+key+"\"\n", up)
	c, err := tls.Dial("tcp", g.Addrs()[1], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for _, path := range []string{"/one", "/two", "/three"} {
		resp := exchange(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: gw\r\n\r\n")
		if resp.StatusCode() != 200 || string(resp.Body()) != path+" https" {
			t.Fatalf("got %d %q, want 200 %q", resp.StatusCode(), resp.Body(), path+" https")
		}
		waitParked(t, g, 1)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "moongate idle test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestParkedConnectionsAreOpenOnMetrics: a parked connection is still an
// open connection to whoever watches moongate_open_connections (fasthttp
// counts only the connections it is serving).
func TestParkedConnectionsAreOpenOnMetrics(t *testing.T) {
	needParking(t)
	up := idleUpstream(t)
	g := gatewaytest.Start(t, "[server]\nlisten = \"127.0.0.1:0\"\n"+metricsConfig(up.URL, ""))
	const n = 3
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", g.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if resp := exchange(t, c, bufio.NewReader(c), "GET /api/x HTTP/1.1\r\nHost: gw\r\n\r\n"); resp.StatusCode() != 200 {
			t.Fatalf("status %d", resp.StatusCode())
		}
	}
	waitParked(t, g, n)
	s := scrape(t, g, nil)
	if v, _ := s.Value(metric.OpenConnections); v != n {
		t.Errorf("%s = %v with %d parked connections, want %d", metric.OpenConnections, v, n, n)
	}
}
