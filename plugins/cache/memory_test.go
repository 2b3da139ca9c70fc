package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// TestMemoryBudget fills a 64MB cache with three times as much and checks
// that fastcache stays within its budget, that the process does not grow
// by what went through, and that recent entries are still served.
func TestMemoryBudget(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 512<<10)
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		ctx.SetBody(big)
	})
	g := gatewaytest.Start(t, "[cache]\nsize = \"64MB\"\n"+gatewayTOML(up.URL, `max_object_size = "1MB"`, "")[1:])
	debug.FreeOSMemory()
	rssBefore := rss(t)
	const n = 384 // 192MB through a 64MB cache
	// One client, one connection: each keep-alive connection keeps a
	// response buffer of its own, which is not what is measured here.
	c := &fasthttp.Client{MaxConnsPerHost: 1, ReadTimeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		status, body, err := c.GetTimeout(nil, g.URL+"/big/"+strconv.Itoa(i), 10*time.Second)
		if err != nil || status != 200 || len(body) != len(big) {
			t.Fatalf("request %d: %d, %d bytes, %v", i, status, len(body), err)
		}
	}

	st := g.Cache().Stats()
	if st.Bytes > st.MaxBytes || st.MaxBytes != 64<<20 {
		t.Fatalf("cache holds %d bytes, budget %d", st.Bytes, st.MaxBytes)
	}
	if !raceEnabled {
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t.Logf("heap in use %d MB, process grew by %d MB", ms.HeapInuse>>20, (rss(t)-rssBefore)>>20)

		if grown := rss(t) - rssBefore; grown > 112<<20 {
			t.Errorf("process grew by %d MB while %d MB went through a 64 MB cache", grown>>20, n*len(big)>>20)
		}
	}
	// Old entries were evicted; the cache goes on storing and serving.
	expect(t, g, "/big/0", "MISS", 200, "")
	expect(t, g, "/big/0", "HIT", 200, "")
}

// rss returns the process's resident set size in bytes.
func rss(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestPersistence runs two gateways one after the other on the same cache
// file: the second serves what the first cached, and not what the first
// purged.
func TestPersistence(t *testing.T) {
	h, _ := counter("Cache-Control", "max-age=600", "Surrogate-Key", "t")
	up := gatewaytest.StartUpstream(t, h)
	file := filepath.Join(t.TempDir(), "cache")
	toml := fmt.Sprintf("[cache]\nfile = %q\n", file) + gatewayTOML(up.URL, "", "")
	// The host is part of the key: the same for both gateways, whose
	// listeners have different ports.
	host := []string{"Host", "api.example.com"}
	g1 := gatewaytest.Start(t, toml)
	expect(t, g1, "/keep", "MISS", 200, "n=1", host...)
	expect(t, g1, "/url", "MISS", 200, "n=2", host...)
	expect(t, g1, "/pre/x", "MISS", 200, "n=3", host...)
	purge(t, g1, `{"url": "/url"}`)
	purge(t, g1, `{"prefix": "/pre/"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	g2 := gatewaytest.Start(t, toml)
	if st := g2.Cache().Stats(); !st.Loaded {
		t.Fatalf("the second gateway did not load the cache: %+v", st)
	}
	expect(t, g2, "/keep", "HIT", 200, "n=1", host...)
	expect(t, g2, "/url", "MISS", 200, "n=4", host...)
	expect(t, g2, "/pre/x", "MISS", 200, "n=5", host...)
	purge(t, g2, `{"tag": "t"}`)
	expect(t, g2, "/keep", "MISS", 200, "n=6", host...)
	if up.Hits() != 6 {
		t.Fatalf("upstream hits = %d, want 6", up.Hits())
	}

	t.Run("a different size starts empty", func(t *testing.T) {
		if err := g2.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		g3 := gatewaytest.Start(t, "[cache]\nsize = \"64MB\"\n"+fmt.Sprintf("file = %q\n", file)+gatewayTOML(up.URL, "", ""))
		if g3.Cache().Stats().Loaded {
			t.Fatal("a cache saved with another size was loaded")
		}
		expect(t, g3, "/keep", "MISS", 200, "")
	})
}
