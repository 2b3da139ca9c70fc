// Package gatewaytest starts real moongate gateways and real upstream
// servers on 127.0.0.1 for end-to-end tests, the way net/http/httptest
// starts servers: configuration inline in the test, ports chosen by the
// kernel, everything stopped when the test ends.
package gatewaytest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/valyala/fasthttp"
)

// Gateway is a running gateway under test.
type Gateway struct {
	*gateway.Gateway
	// File is the configuration file it was started from; rewrite it and
	// call Reload to test reloads.
	File string
	// URL is "http://127.0.0.1:port" of the first public listener.
	URL string
	// AdminURL is "http://127.0.0.1:port" of the admin API, "" if off.
	AdminURL string
}

// Start writes toml to a file, starts a gateway on it and stops it when
// the test ends. Unless the TOML says otherwise, the public and admin
// listeners are put on 127.0.0.1:0. The process log goes to the test log
// when -v is given.
func Start(t testing.TB, toml string) *Gateway {
	t.Helper()
	return StartWithLogger(t, toml, Logger(t))
}

// StartWithLogger is Start with the process log going to logger, for
// tests that check what the gateway logs.
func StartWithLogger(t testing.TB, toml string, logger *slog.Logger) *Gateway {
	t.Helper()
	file := filepath.Join(t.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(WithTestListeners(toml)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	g, err := gateway.New(cfg, logger)
	if err != nil {
		t.Fatalf("build:\n%v", err)
	}
	if err := g.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	gw := &Gateway{Gateway: g, File: file, URL: "http://" + g.Addrs()[0]}
	if a := g.AdminAddr(); a != "" {
		gw.AdminURL = "http://" + a
	}
	return gw
}

// WithTestListeners prepends loopback listeners on free ports to a TOML
// configuration that has no [server] or [admin] table of its own.
func WithTestListeners(toml string) string {
	var head string
	if !strings.Contains(toml, "[server]") {
		head += "[server]\nlisten = \"127.0.0.1:0\"\n"
	}
	if !strings.Contains(toml, "[admin]") {
		head += "[admin]\nlisten = \"127.0.0.1:0\"\n"
	}
	return head + toml
}

// Rewrite replaces the gateway's configuration file (listeners added as
// in Start), for a following Reload.
func (g *Gateway) Rewrite(t testing.TB, toml string) {
	t.Helper()
	if err := os.WriteFile(g.File, []byte(WithTestListeners(toml)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Logger returns a logger writing to the test log when testing.Verbose(),
// and nowhere otherwise.
func Logger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Upstream is a real HTTP server on 127.0.0.1 that counts its requests.
type Upstream struct {
	// URL is "http://127.0.0.1:port", ready for targets = [{ url = ... }].
	URL string
	// Addr is "127.0.0.1:port".
	Addr string
	srv  *fasthttp.Server
	ln   net.Listener
	hits atomic.Int64
}

// StartUpstream serves h on 127.0.0.1:0 until the test ends.
func StartUpstream(t testing.TB, h fasthttp.RequestHandler) *Upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &Upstream{Addr: ln.Addr().String(), ln: ln}
	u.URL = "http://" + u.Addr
	u.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		u.hits.Add(1)
		h(ctx)
	}, NoDefaultContentType: true}
	go u.srv.Serve(ln) //nolint:errcheck // ends at Close
	t.Cleanup(func() { u.Close() })
	return u
}

// Hits returns the number of requests the upstream received.
func (u *Upstream) Hits() int64 { return u.hits.Load() }

// Close stops the upstream (idempotent).
func (u *Upstream) Close() {
	u.srv.Shutdown() //nolint:errcheck // best effort
}

// Client is an HTTP client for tests, with timeouts so a hung gateway
// fails the test instead of blocking it.
func Client() *fasthttp.Client {
	return &fasthttp.Client{ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		NoDefaultUserAgentHeader: true, DisablePathNormalizing: true}
}

// Do sends a request and returns status, body and the response. headers
// are name, value pairs; a "Host" pair sets the Host header.
func Do(t testing.TB, method, url string, body []byte, headers ...string) (int, []byte, *fasthttp.Response) {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	req.URI().DisablePathNormalizing = true
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.UseHostHeader = true
			req.Header.SetHost(headers[i+1])
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	if body != nil {
		req.SetBody(body)
	}
	resp := &fasthttp.Response{}
	if err := Client().DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode(), resp.Body(), resp
}
