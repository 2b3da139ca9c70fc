package cache_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestFreshHitDoesNotReachUpstream(t *testing.T) {
	h, _ := counter("Cache-Control", "max-age=60", "ETag", `"v1"`)
	g, up := setup(t, h, "")
	expect(t, g, "/a", "MISS", 200, "n=1")
	resp := expect(t, g, "/a", "HIT", 200, "n=1")
	if age := string(resp.Header.Peek("Age")); age != "0" && age != "1" {
		t.Errorf("Age = %q, want 0 or 1", age)
	}
	if string(resp.Header.ContentType()) != "text/plain" || string(resp.Header.Peek("ETag")) != `"v1"` {
		t.Errorf("stored headers lost: Content-Type %q, ETag %q", resp.Header.ContentType(), resp.Header.Peek("ETag"))
	}
	if up.Hits() != 1 {
		t.Fatalf("upstream hits = %d, want 1", up.Hits())
	}
	expect(t, g, "/b", "MISS", 200, "n=2")
	expect(t, g, "/b", "HIT", 200, "n=2")
}

func TestTTLExpiry(t *testing.T) {
	t.Parallel()
	t.Run("max-age", func(t *testing.T) {
		t.Parallel()
		h, _ := counter("Cache-Control", "max-age=1")
		g, up := setup(t, h, "")
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "HIT", 200, "n=1")
		time.Sleep(1100 * time.Millisecond)
		expect(t, g, "/x", "EXPIRED", 200, "n=2")
		expect(t, g, "/x", "HIT", 200, "n=2")
		if up.Hits() != 2 {
			t.Fatalf("upstream hits = %d, want 2", up.Hits())
		}
	})
	t.Run("step ttl for responses without caching headers", func(t *testing.T) {
		t.Parallel()
		h, _ := counter()
		g, _ := setup(t, h, `ttl = "1s"`)
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "HIT", 200, "n=1")
		time.Sleep(1100 * time.Millisecond)
		expect(t, g, "/x", "EXPIRED", 200, "n=2")
	})
	t.Run("upstream Age counts", func(t *testing.T) {
		t.Parallel()
		h, _ := counter("Cache-Control", "max-age=100", "Age", "100")
		g, up := setup(t, h, "")
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "MISS", 200, "n=2") // already as old as its lifetime: not stored
		if up.Hits() != 2 {
			t.Fatalf("upstream hits = %d, want 2", up.Hits())
		}
	})
	t.Run("Expires", func(t *testing.T) {
		t.Parallel()
		h, _ := counter("Expires", httpDate(time.Now().Add(time.Hour)))
		g, _ := setup(t, h, "")
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "HIT", 200, "n=1")
	})
	t.Run("force ignores upstream headers", func(t *testing.T) {
		t.Parallel()
		h, _ := counter("Cache-Control", "no-store, private")
		g, _ := setup(t, h, "force = true\nttl = \"60s\"")
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "HIT", 200, "n=1")
	})
}

func TestNoFreshnessNotReused(t *testing.T) {
	h, _ := counter()
	g, up := setup(t, h, "")
	expect(t, g, "/x", "MISS", 200, "n=1")
	expect(t, g, "/x", "MISS", 200, "n=2")
	if up.Hits() != 2 {
		t.Fatalf("upstream hits = %d, want 2", up.Hits())
	}
}

func TestHeuristicFreshness(t *testing.T) {
	lm := httpDate(time.Now().Add(-240 * time.Hour))
	t.Run("200 with Last-Modified", func(t *testing.T) {
		h, _ := counter("Last-Modified", lm)
		g, _ := setup(t, h, "")
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "HIT", 200, "n=1")
	})
	t.Run("heuristic off", func(t *testing.T) {
		h, _ := counter("Last-Modified", lm)
		g, _ := setup(t, h, "heuristic = false")
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "MISS", 200, "n=2")
	})
	t.Run("status not heuristically cacheable", func(t *testing.T) {
		h := func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set("Last-Modified", lm)
			ctx.Response.Header.Set("Location", "/elsewhere")
			ctx.SetStatusCode(302)
		}
		g, up := setup(t, h, "")
		get(t, g, "GET", "/x")
		get(t, g, "GET", "/x")
		if up.Hits() != 2 {
			t.Fatalf("upstream hits = %d, want 2", up.Hits())
		}
	})
}

func TestNotStored(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdrs []string
	}{
		{"no-store", []string{"Cache-Control", "max-age=60, no-store"}},
		{"private", []string{"Cache-Control", "private, max-age=60"}},
		{"Set-Cookie", []string{"Cache-Control", "max-age=60", "Set-Cookie", "session=secret"}},
		{"Vary *", []string{"Cache-Control", "max-age=60", "Vary", "*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := counter(tc.hdrs...)
			g, up := setup(t, h, "")
			expect(t, g, "/x", "MISS", 200, "n=1")
			expect(t, g, "/x", "MISS", 200, "n=2")
			if up.Hits() != 2 {
				t.Fatalf("upstream hits = %d, want 2", up.Hits())
			}
		})
	}
	t.Run("status not in statuses, without explicit freshness", func(t *testing.T) {
		h := func(ctx *fasthttp.RequestCtx) {
			ctx.SetStatusCode(500)
		}
		g, up := setup(t, h, `ttl = "60s"`)
		get(t, g, "GET", "/x")
		get(t, g, "GET", "/x")
		if up.Hits() != 2 {
			t.Fatalf("upstream hits = %d, want 2", up.Hits())
		}
	})
	t.Run("too large", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		g, _ := setup(t, h, `max_object_size = "2B"`)
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "MISS", 200, "n=2")
	})
	t.Run("content type not allowed", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		g, _ := setup(t, h, `content_types = ["application/json"]`)
		expect(t, g, "/x", "MISS", 200, "n=1")
		expect(t, g, "/x", "MISS", 200, "n=2")
	})
	t.Run("request no-store", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		g, _ := setup(t, h, "")
		expect(t, g, "/x", "BYPASS", 200, "n=1", "Cache-Control", "no-store")
		expect(t, g, "/x", "MISS", 200, "n=2")
	})
}

func TestVaryVariants(t *testing.T) {
	var n atomic.Int64
	h := func(ctx *fasthttp.RequestCtx) {
		n.Add(1)
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.Response.Header.Set("Vary", "Accept-Language")
		fmt.Fprintf(ctx, "lang=%s", ctx.Request.Header.Peek("Accept-Language"))
	}
	g, up := setup(t, h, "")
	expect(t, g, "/x", "MISS", 200, "lang=en", "Accept-Language", "en")
	expect(t, g, "/x", "MISS", 200, "lang=fr", "Accept-Language", "fr")
	expect(t, g, "/x", "HIT", 200, "lang=en", "Accept-Language", "en")
	expect(t, g, "/x", "HIT", 200, "lang=fr", "Accept-Language", "fr")
	expect(t, g, "/x", "MISS", 200, "lang=", "X-Other", "1")
	if up.Hits() != 3 {
		t.Fatalf("upstream hits = %d, want 3", up.Hits())
	}
}

func TestKey(t *testing.T) {
	t.Run("query arguments are sorted", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		g, _ := setup(t, h, "")
		expect(t, g, "/q?b=2&a=1", "MISS", 200, "n=1")
		expect(t, g, "/q?a=1&b=2", "HIT", 200, "n=1")
		expect(t, g, "/q?a=1&b=3", "MISS", 200, "n=2")
	})
	t.Run("query allow-list", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		g, _ := setup(t, h, `query_args = ["id"]`)
		expect(t, g, "/q?id=1&utm_source=a", "MISS", 200, "n=1")
		expect(t, g, "/q?utm_source=b&id=1", "HIT", 200, "n=1")
		expect(t, g, "/q?id=2", "MISS", 200, "n=2")
	})
	t.Run("key headers and cookies", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=60")
		g, _ := setup(t, h, `key_headers = ["X-Tenant"]`+"\n"+`key_cookies = ["lang"]`)
		expect(t, g, "/k", "MISS", 200, "n=1", "X-Tenant", "a")
		expect(t, g, "/k", "MISS", 200, "n=2", "X-Tenant", "b")
		expect(t, g, "/k", "HIT", 200, "n=1", "X-Tenant", "a")
		expect(t, g, "/k", "MISS", 200, "n=3", "X-Tenant", "a", "Cookie", "lang=fr")
		expect(t, g, "/k", "HIT", 200, "n=3", "X-Tenant", "a", "Cookie", "lang=fr; other=1")
	})
}

func TestHEADServedFromGET(t *testing.T) {
	var methods []string
	var mu sync.Mutex
	h := func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		methods = append(methods, string(ctx.Method()))
		mu.Unlock()
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.WriteString("hello body")
	}
	g, up := setup(t, h, "")
	status, body, cs, resp := get(t, g, "HEAD", "/h")
	if status != 200 || cs != "MISS" || body != "" || resp.Header.ContentLength() != len("hello body") {
		t.Fatalf("HEAD miss: got %d %s %q len %d", status, cs, body, resp.Header.ContentLength())
	}
	status, body, cs, resp = get(t, g, "HEAD", "/h")
	if status != 200 || cs != "HIT" || body != "" || resp.Header.ContentLength() != len("hello body") {
		t.Fatalf("HEAD hit: got %d %s %q len %d", status, cs, body, resp.Header.ContentLength())
	}
	expect(t, g, "/h", "HIT", 200, "hello body")
	if up.Hits() != 1 || methods[0] != "GET" {
		t.Fatalf("upstream got %v, want one GET", methods)
	}
}

func TestConditionalRequests(t *testing.T) {
	lm := httpDate(time.Now().Add(-time.Hour))
	h, _ := counter("Cache-Control", "max-age=60", "ETag", `"abc"`, "Last-Modified", lm)
	g, up := setup(t, h, "")
	// On a miss, the client's validators are answered by the cache, and
	// the full response is stored.
	resp := expect(t, g, "/c", "MISS", 304, "", "If-None-Match", `"abc"`)
	if len(resp.Body()) != 0 {
		t.Fatalf("304 with a body: %q", resp.Body())
	}
	expect(t, g, "/c", "HIT", 304, "", "If-None-Match", `W/"abc"`)
	expect(t, g, "/c", "HIT", 304, "", "If-None-Match", `"x", "abc"`)
	expect(t, g, "/c", "HIT", 200, "n=1", "If-None-Match", `"other"`)
	expect(t, g, "/c", "HIT", 304, "", "If-None-Match", `*`)
	expect(t, g, "/c", "HIT", 304, "", "If-Modified-Since", httpDate(time.Now()))
	expect(t, g, "/c", "HIT", 200, "n=1", "If-Modified-Since", httpDate(time.Now().Add(-2*time.Hour)))
	expect(t, g, "/c", "HIT", 200, "n=1")
	if up.Hits() != 1 {
		t.Fatalf("upstream hits = %d, want 1", up.Hits())
	}
}

func TestRevalidation(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	var sawINM atomic.Value
	sawINM.Store("")
	h := func(ctx *fasthttp.RequestCtx) {
		n := calls.Add(1)
		ctx.Response.Header.Set("Cache-Control", "max-age=1")
		ctx.Response.Header.Set("ETag", `"v1"`)
		if inm := string(ctx.Request.Header.Peek("If-None-Match")); inm != "" {
			sawINM.Store(inm)
			if inm == `"v1"` {
				ctx.Response.Header.Set("X-Refreshed", fmt.Sprint(n))
				ctx.SetStatusCode(304)
				return
			}
		}
		ctx.WriteString("original")
	}
	g, up := setup(t, h, "")
	expect(t, g, "/r", "MISS", 200, "original")
	time.Sleep(1100 * time.Millisecond)
	resp := expect(t, g, "/r", "REVALIDATED", 200, "original")
	if sawINM.Load() != `"v1"` {
		t.Fatalf("upstream saw If-None-Match %q, want the stored ETag", sawINM.Load())
	}
	if string(resp.Header.Peek("X-Refreshed")) != "2" {
		t.Errorf("headers of the 304 not merged: X-Refreshed = %q", resp.Header.Peek("X-Refreshed"))
	}
	expect(t, g, "/r", "HIT", 200, "original")
	if up.Hits() != 2 {
		t.Fatalf("upstream hits = %d, want 2", up.Hits())
	}
	t.Run("client no-cache revalidates a fresh entry", func(t *testing.T) {
		expect(t, g, "/r", "REVALIDATED", 200, "original", "Cache-Control", "no-cache")
		if up.Hits() != 3 {
			t.Fatalf("upstream hits = %d, want 3", up.Hits())
		}
	})
	t.Run("no-cache response is revalidated on every use", func(t *testing.T) {
		h, _ := counter("Cache-Control", "no-cache", "ETag", `"e"`)
		g2, up2 := setup(t, func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Request.Header.Peek("If-None-Match")) == `"e"` {
				ctx.SetStatusCode(304)
				return
			}
			h(ctx)
		}, "")
		expect(t, g2, "/n", "MISS", 200, "n=1")
		expect(t, g2, "/n", "REVALIDATED", 200, "n=1")
		if up2.Hits() != 2 {
			t.Fatalf("upstream hits = %d, want 2", up2.Hits())
		}
	})
}

func TestStaleWhileRevalidate(t *testing.T) {
	t.Parallel()
	h, calls := counter("Cache-Control", "max-age=1, stale-while-revalidate=30")
	g, up := setup(t, h, "")
	expect(t, g, "/s", "MISS", 200, "n=1")
	time.Sleep(1100 * time.Millisecond)
	expect(t, g, "/s", "STALE", 200, "n=1")
	if !waitUntil(5*time.Second, func() bool { return calls() == 2 }) {
		t.Fatalf("background refresh did not reach the upstream: %d calls", calls())
	}
	if !waitUntil(5*time.Second, func() bool {
		_, body, cs, _ := get(t, g, "GET", "/s")
		return cs == "HIT" && body == "n=2"
	}) {
		t.Fatal("the refreshed response is not served")
	}
	if up.Hits() != 2 {
		t.Fatalf("upstream hits = %d, want 2 (one refresh)", up.Hits())
	}
	t.Run("from step config", func(t *testing.T) {
		h, calls := counter("Cache-Control", "max-age=1")
		g, _ := setup(t, h, `stale_while_revalidate = "30s"`)
		expect(t, g, "/s", "MISS", 200, "n=1")
		time.Sleep(1100 * time.Millisecond)
		expect(t, g, "/s", "STALE", 200, "n=1")
		if !waitUntil(5*time.Second, func() bool { return calls() == 2 }) {
			t.Fatalf("background refresh did not reach the upstream: %d calls", calls())
		}
	})
	t.Run("must-revalidate forbids it", func(t *testing.T) {
		h, _ := counter("Cache-Control", "max-age=1, must-revalidate")
		g, _ := setup(t, h, `stale_while_revalidate = "30s"`)
		expect(t, g, "/s", "MISS", 200, "n=1")
		time.Sleep(1100 * time.Millisecond)
		expect(t, g, "/s", "EXPIRED", 200, "n=2")
	})
}

func TestStaleIfError(t *testing.T) {
	t.Parallel()
	t.Run("upstream down", func(t *testing.T) {
		t.Parallel()
		h, _ := counter("Cache-Control", "max-age=1, stale-if-error=60")
		g, up := setup(t, h, "")
		expect(t, g, "/e", "MISS", 200, "n=1")
		up.Close()
		time.Sleep(1100 * time.Millisecond)
		expect(t, g, "/e", "STALE", 200, "n=1")
	})
	t.Run("upstream 503, from step config", func(t *testing.T) {
		t.Parallel()
		var fail atomic.Bool
		h, _ := counter("Cache-Control", "max-age=1")
		g, _ := setup(t, func(ctx *fasthttp.RequestCtx) {
			if fail.Load() {
				ctx.SetStatusCode(503)
				return
			}
			h(ctx)
		}, `stale_if_error = "60s"`)
		expect(t, g, "/e", "MISS", 200, "n=1")
		fail.Store(true)
		time.Sleep(1100 * time.Millisecond)
		expect(t, g, "/e", "STALE", 200, "n=1")
	})
	t.Run("without it the error goes through", func(t *testing.T) {
		t.Parallel()
		h, _ := counter("Cache-Control", "max-age=1")
		g, up := setup(t, h, "")
		expect(t, g, "/e", "MISS", 200, "n=1")
		up.Close()
		time.Sleep(1100 * time.Millisecond)
		status, _, _, _ := get(t, g, "GET", "/e")
		if status != 502 {
			t.Fatalf("status = %d, want 502", status)
		}
	})
}

func TestCollapsing(t *testing.T) {
	var calls atomic.Int64
	h := func(ctx *fasthttp.RequestCtx) {
		calls.Add(1)
		time.Sleep(300 * time.Millisecond)
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.WriteString("slow")
	}
	g, up := setup(t, h, "")
	const n = 100
	var wg sync.WaitGroup
	var bad atomic.Int64
	statuses := make([]string, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(g.URL + "/slow")
			if err := client.DoTimeout(req, resp, 10*time.Second); err != nil || string(resp.Body()) != "slow" {
				bad.Add(1)
				return
			}
			statuses[i] = string(resp.Header.Peek("X-Cache-Status"))
		}()
	}
	close(start)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d requests failed", bad.Load())
	}
	if up.Hits() != 1 {
		t.Fatalf("upstream hits = %d, want 1 for %d concurrent misses", up.Hits(), n)
	}
	misses := 0
	for _, s := range statuses {
		if s == "MISS" {
			misses++
		}
	}
	if misses != 1 {
		t.Errorf("%d MISS answers, want 1 (the others served from the leader's response)", misses)
	}
}

var client = &fasthttp.Client{MaxConnsPerHost: 1000, ReadTimeout: 10 * time.Second}
