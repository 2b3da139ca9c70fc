package dashboard_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/cache"
	_ "github.com/moongate/moongate/plugins/lua"
	_ "github.com/moongate/moongate/plugins/requestid"
	"github.com/valyala/fasthttp"
)

// testNoHTMLInjection names a route and an upstream with markup, and
// makes a reload fail with an error that quotes markup: the page shows
// the names and the error as text, and no element comes of them.
func testNoHTMLInjection(t *testing.T, browser context.Context) {
	const (
		routeName    = `<img src=x onerror=document.title='pwned-route'>`
		upstreamName = `<svg onload=document.title='pwned-upstream'></svg>`
		unknown      = `<img src=y onerror=document.title='pwned-reload'>`
	)
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	toml := fmt.Sprintf(`[[upstreams]]
name = %q
targets = [{ url = %q }]

[[routes]]
name = %q
paths = ["/x/"]
upstream = %q
`, upstreamName, up.URL, routeName, upstreamName)
	g := gt.Start(t, toml)
	g.Rewrite(t, strings.Replace(toml, fmt.Sprintf("upstream = %q\n", upstreamName), fmt.Sprintf("upstream = %q\n", unknown), 1))
	if res := g.Reload(); res.OK || !strings.Contains(strings.Join(res.Messages, "\n"), unknown) {
		t.Fatalf("the reload should fail quoting %s: %+v", unknown, res)
	}
	gt.Do(t, "GET", g.URL+"/x/1", nil)

	tb := newTab(t, browser)
	tb.run("open the page", chromedp.Navigate(g.AdminURL+"/ui/"))
	tb.waitFor("the route, the upstream and the failed reload",
		`document.querySelector('#routes-body td.name') && document.querySelector('#upstreams .upstream h3 .name') &&
		 document.querySelector('#reloads-body tr.bad td.err')`, 10*time.Second)

	var page struct {
		Route, Upstream, RouteUpstream, ReloadError, Title string
		Imgs, Svgs, ChartSvgs                              int
	}
	tb.eval(`({
  route: document.querySelector('#routes-body td.name').textContent,
  routeUpstream: document.querySelector('#routes-body tr td:nth-child(3)').textContent,
  upstream: document.querySelector('#upstreams .upstream h3 .name').textContent,
  reloadError: document.querySelector('#reloads-body tr.bad td.err').textContent,
  title: document.title,
  imgs: document.querySelectorAll('img').length,
  svgs: document.querySelectorAll('svg').length,
  chartSvgs: document.querySelectorAll('.chart > svg').length,
})`, &page)
	if page.Route != routeName || page.RouteUpstream != upstreamName || page.Upstream != upstreamName {
		t.Errorf("shown as route %q (upstream %q), upstream %q: want the names as text", page.Route, page.RouteUpstream, page.Upstream)
	}
	if !strings.Contains(page.ReloadError, unknown) {
		t.Errorf("reload error shown as %q, want it to quote %s as text", page.ReloadError, unknown)
	}
	if page.Imgs != 0 || page.Svgs != page.ChartSvgs || page.Title != "moongate dashboard" {
		t.Errorf("%d img elements, %d svg elements (%d of charts), title %q: markup from names became elements",
			page.Imgs, page.Svgs, page.ChartSvgs, page.Title)
	}
}

// traffic sends requests to a gateway from a goroutine, one every few
// milliseconds, until stopped or at most 20 000 requests or 60 s. With
// errors on, every third request gets a 500 from the upstream and every
// fifth fails in the route's Lua script.
type traffic struct {
	errors atomic.Bool
	sent   atomic.Int64
	stop   chan struct{}
	done   sync.WaitGroup
}

func startTraffic(t *testing.T, base string) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	tr.done.Add(1)
	go func() {
		defer tr.done.Done()
		c := gt.Client()
		tick := time.NewTicker(4 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(60 * time.Second)
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for i := 0; i < 20000; i++ {
			select {
			case <-tr.stop:
				return
			case <-deadline:
				return
			case <-tick.C:
			}
			req.Reset()
			path := "/api/ok"
			switch {
			case i%2 == 1:
				path = "/cached/page"
			case tr.errors.Load() && i%6 == 0:
				path = "/api/fail"
			case tr.errors.Load() && i%10 == 4:
				req.Header.Set("X-Boom", "1")
			}
			req.SetRequestURI(base + path)
			if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
				continue // counted by the gateway as it saw it; the test reads the page
			}
			tr.sent.Add(1)
		}
	}()
	t.Cleanup(tr.end)
	return tr
}

func (tr *traffic) end() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.done.Wait()
}

// testLiveTraffic loads the dashboard of a gateway under traffic and
// watches the numbers follow it: request rate, routes, targets with
// their health (one is down and gets ejected), latency, cache hits; then
// errors start (500s from the upstream, Lua errors) and the error rate,
// the route's 5xx share and the Lua figures show them; then a reload.
func testLiveTraffic(t *testing.T, browser context.Context) {
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch p := string(ctx.Path()); {
		case p == "/api/fail":
			ctx.SetStatusCode(500)
			ctx.SetBodyString("boom")
		case strings.HasPrefix(p, "/cached/"):
			ctx.Response.Header.Set("Cache-Control", "max-age=600")
			ctx.SetBodyString("cached page")
		default:
			ctx.SetBodyString("ok")
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // a target that refuses connections

	dir := t.TempDir()
	script := filepath.Join(dir, "boom.lua")
	if err := os.WriteFile(script, []byte(`return { on_request = function()
  if gw.request.get_header("X-Boom") then error("boom") end
end }`), 0o600); err != nil {
		t.Fatal(err)
	}
	toml := fmt.Sprintf(`[admin]
listen = "127.0.0.1:0"
token = "s3cret"

[[upstreams]]
name = "backend"
targets = [{ url = %q }, { url = %q }]

[[routes]]
name = "api"
paths = ["/api/"]
upstream = "backend"
  [[routes.plugins]]
  name = "request-id"
  [[routes.plugins]]
  script = %q

[[routes]]
name = "cached"
paths = ["/cached/"]
upstream = "backend"
  [[routes.plugins]]
  name = "cache"
`, up.URL, dead, script)
	g := gt.Start(t, toml)
	tr := startTraffic(t, g.URL)

	tb := newTab(t, browser)
	tb.run("open the page", chromedp.Navigate(g.AdminURL+"/ui/"))
	tb.waitFor("the token form", `!document.getElementById('login').hidden`, 10*time.Second)
	tb.run("refresh every second and type the token",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('refresh'); s.value = '1'; s.dispatchEvent(new Event('change')); })()`),
		chromedp.SendKeys("#token", "s3cret"),
		chromedp.Click("#login button[type=submit]"))

	num := func(id string) string { // the number at the start of an element's text, as JS
		return `parseFloat(document.getElementById('` + id + `').textContent.replace(/,/g, ''))`
	}
	tb.waitFor("a request rate, routes with their chains, the dead target ejected, latency and cache hits",
		num("stat-rps")+` > 0 && `+num("stat-total")+` > 0 &&
		document.querySelector('#routes-body tr[data-route="api"] .chain .step') !== null &&
		document.querySelector('#upstreams tr[data-target="`+up.URL+`"] [data-health="healthy"]') !== null &&
		document.querySelector('#upstreams tr[data-target="`+dead+`"] [data-health="ejected"]') !== null &&
		`+num("stat-p99")+` > 0 && `+num("stat-cache")+` > 0 &&
		document.querySelectorAll('#chart-requests .series polyline').length > 0`, 15*time.Second)

	var before struct {
		Err5, Chain, Lua string
		Ejections        float64
	}
	tb.eval(`({
  err5: document.getElementById('stat-5xx').textContent,
  chain: [...document.querySelectorAll('#routes-body tr[data-route="api"] .chain .step')].map((e) => e.textContent).join(' > '),
  lua: document.getElementById('stat-lua').textContent,
  ejections: parseFloat(document.querySelector('#upstreams tr[data-target="`+dead+`"] td:nth-child(8)').textContent),
})`, &before)
	if before.Err5 != "0.0 %" || before.Lua != "0" {
		t.Errorf("before any error: 5xx %q, Lua errors %q; want 0.0 %% and 0", before.Err5, before.Lua)
	}
	if !strings.HasPrefix(before.Chain, "request-id > ") || !strings.Contains(before.Chain, "boom.lua") {
		t.Errorf("api's chain shown as %q, want request-id then the script", before.Chain)
	}
	if before.Ejections < 1 {
		t.Errorf("dead target's ejections shown as %v, want at least 1", before.Ejections)
	}

	tr.errors.Store(true)
	tb.waitFor("the 5xx rate, the api route's 5xx share, the errors chart and the Lua errors",
		num("stat-5xx")+` > 0 &&
		parseFloat(document.querySelector('#routes-body tr[data-route="api"] td:nth-child(7)').textContent) > 0 &&
		parseFloat(document.querySelector('#chart-errors .legend-item[data-series="5xx"] .legend-value').textContent) > 0 &&
		`+num("stat-lua")+` > 0 &&
		parseFloat(document.querySelector('#scripts-body tr[data-script$="boom.lua"] td:nth-child(3)').textContent) > 0`,
		15*time.Second)
	tr.end()
	if tr.sent.Load() == 0 {
		t.Fatal("no request was answered")
	}

	g.Rewrite(t, strings.Replace(toml, `upstream = "backend"`, `upstream = "nope"`, 1))
	if res := g.Reload(); res.OK {
		t.Fatal("a reload with an unknown upstream succeeded")
	}
	tb.waitFor("the failed reload", `[...document.querySelectorAll('#reloads-body tr.bad td.err')].some((e) => e.textContent.includes('unknown upstream "nope"'))`,
		10*time.Second)
}
