package cache_test

import (
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

type fastCtx = *fasthttp.RequestCtx

// TestOneRefreshForManyStaleRequests: concurrent requests for an entry
// within stale-while-revalidate are all served stale, and the upstream
// sees one refresh.
func TestOneRefreshForManyStaleRequests(t *testing.T) {
	t.Parallel()
	h, calls := counter("Cache-Control", "max-age=1, stale-while-revalidate=60")
	slow := func(ctx fastCtx) {
		if calls() >= 1 {
			time.Sleep(200 * time.Millisecond) // the refresh is still running while the others arrive
		}
		h(ctx)
	}
	g, _ := setup(t, slow, "")
	expect(t, g, "/r", "MISS", 200, "n=1")
	time.Sleep(1100 * time.Millisecond)
	var wg sync.WaitGroup
	statuses := make([]string, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, statuses[i], _ = get(t, g, "GET", "/r")
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != "STALE" && s != "HIT" {
			t.Fatalf("request %d: %s, want STALE (or HIT once refreshed)", i, s)
		}
	}
	if !waitUntil(5*time.Second, func() bool { return calls() == 2 }) {
		t.Fatalf("upstream calls = %d, want 2", calls())
	}
	expect(t, g, "/r", "HIT", 200, "n=2")
	if calls() != 2 {
		t.Fatalf("upstream calls = %d, want 2 (one refresh)", calls())
	}
}

func TestOnlyIfCached(t *testing.T) {
	h, _ := counter("Cache-Control", "max-age=60")
	g, up := setup(t, h, "")
	status, _, _, _ := get(t, g, "GET", "/o", "Cache-Control", "only-if-cached")
	if status != 504 || up.Hits() != 0 {
		t.Fatalf("only-if-cached on a miss: %d, upstream hits %d; want 504 and none", status, up.Hits())
	}
	expect(t, g, "/o", "MISS", 200, "n=1")
	expect(t, g, "/o", "HIT", 200, "n=1", "Cache-Control", "only-if-cached")
}

func TestRequestDirectivesOff(t *testing.T) {
	h, _ := counter("Cache-Control", "max-age=60")
	g, _ := setup(t, h, "request_directives = false")
	expect(t, g, "/d", "MISS", 200, "n=1")
	expect(t, g, "/d", "HIT", 200, "n=1", "Cache-Control", "no-cache")
	expect(t, g, "/d", "HIT", 200, "n=1", "Pragma", "no-cache")
}

// TestCacheSurvivesReload: the shared cache outlives the runtime a reload
// replaces.
func TestCacheSurvivesReload(t *testing.T) {
	h, _ := counter("Cache-Control", "max-age=60")
	g, up := setup(t, h, "")
	expect(t, g, "/k", "MISS", 200, "n=1")
	g.Rewrite(t, gatewayTOML(up.URL, `stale_if_error = "1m"`, ""))
	if res := g.Reload(); !res.OK {
		t.Fatalf("reload: %v", res.Messages)
	}
	expect(t, g, "/k", "HIT", 200, "n=1")
}
