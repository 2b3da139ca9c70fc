package gateway_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/keyauth"
	"github.com/valyala/fasthttp"
)

// writeConsumers writes a configuration of n consumers with one API key
// each and a route key-auth protects (a mock step answers), plus pad
// bytes of comment, and returns the file.
func writeConsumers(tb testing.TB, n, pad int) string {
	tb.Helper()
	file := filepath.Join(tb.TempDir(), "consumers.toml")
	f, err := os.Create(file)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprint(w, `[admin]
listen = ""
[[routes]]
name = "api"
paths = ["/"]
  [[routes.plugins]]
  name = "key-auth"
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "ok"
`)
	if pad > 0 {
		fmt.Fprintf(w, "# %s\n", strings.Repeat("x", pad))
	}
	for i := range n {
		fmt.Fprintf(w, "[[consumers]]\nname = \"consumer-%d\"\nkeys = [\"key-%d-0123456789abcdef0123456789abcdef\"]\n", i, i)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return file
}

// liveHeap returns the bytes of the heap in use, after a collection.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// loadGateway builds a gateway (not listening) from file, as moongate run
// does, and returns it with the heap it holds.
func loadGateway(tb testing.TB, file string) (*gateway.Gateway, int64) {
	tb.Helper()
	before := liveHeap()
	cfg, err := config.Load(file)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := gateway.New(cfg, gatewaytest.Logger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return g, liveHeap() - before
}

// status serves a request with key as its API key and returns the status.
func status(g *gateway.Gateway, key string) int {
	var fc fasthttp.RequestCtx
	fc.Request.SetRequestURI("/x")
	fc.Request.Header.Set("X-API-Key", key)
	g.ServeHTTP(&fc)
	return fc.Response.StatusCode()
}

// TestConsumersHoldLittleMemory loads 20 000 consumers with one API key
// each and checks what the running configuration keeps of them. It used
// to keep about 1.1 KB per consumer: the configuration's [[consumers]]
// with their TOML tables, the file's line index, a Consumer built per
// credential, and the whole file's text.
func TestConsumersHoldLittleMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what memory costs")
	}
	const n = 20000
	const maxPerConsumer = 300
	g, held := loadGateway(t, writeConsumers(t, n, 0))
	per := held / n
	t.Logf("%d consumers: %d bytes each", n, per)
	if per > maxPerConsumer {
		t.Errorf("%d consumers hold %d bytes each, want at most %d", n, per, maxPerConsumer)
	}
	for _, tc := range []struct {
		key  string
		want int
	}{
		{"key-0-0123456789abcdef0123456789abcdef", 200},
		{"key-19999-0123456789abcdef0123456789abcdef", 200},
		{"key-20000-0123456789abcdef0123456789abcdef", 401},
	} {
		if got := status(g, tc.key); got != tc.want {
			t.Errorf("key %q: got %d, want %d", tc.key, got, tc.want)
		}
	}
}

// TestRuntimeKeepsNotTheFile builds a gateway from a file made mostly of
// a 16 MB comment: the running gateway must not keep the file's text
// (strings decoded from it used to be slices of it, so one route name
// kept the whole file, and the API keys in it, in memory).
func TestRuntimeKeepsNotTheFile(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what memory costs")
	}
	const pad = 16 << 20
	g, held := loadGateway(t, writeConsumers(t, 10, pad))
	t.Logf("a gateway built from a %d MB file holds %d KB", pad>>20, held>>10)
	if held > pad/4 {
		t.Errorf("a gateway built from a %d MB file holds %d MB, want far less than the file", pad>>20, held>>20)
	}
	if got := status(g, "key-9-0123456789abcdef0123456789abcdef"); got != 200 {
		t.Errorf("got %d, want 200", got)
	}
}
