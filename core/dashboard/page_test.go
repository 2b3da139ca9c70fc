package dashboard_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
)

// TestBrowser runs the dashboard in a real browser: one browser, one tab
// per subtest.
func TestBrowser(t *testing.T) {
	browser := newBrowser(t)
	t.Run("MetricsArithmetic", func(t *testing.T) { testMetricsArithmetic(t, browser) })
	t.Run("Token", func(t *testing.T) { testToken(t, browser) })
	t.Run("NoHTMLInjection", func(t *testing.T) { testNoHTMLInjection(t, browser) })
	t.Run("LiveTraffic", func(t *testing.T) { testLiveTraffic(t, browser) })
}

// testMetricsArithmetic runs the page's own parser and quantile code on
// known input, in the browser: escaped label values, +Inf, counter
// resets, and quantiles as Prometheus's histogram_quantile computes them.
func testMetricsArithmetic(t *testing.T, browser context.Context) {
	g := gt.Start(t, gatewayTOML)
	tb := newTab(t, browser)
	tb.run("open the page", chromedp.Navigate(g.AdminURL+"/ui/"))

	var got struct {
		Route, Status string
		Count         int
		Inf           bool
		Value         float64
		Bad           int
		Increases     []float64
		P50, P90, P99 float64
		AllInInf      float64
		Empty         any
		Summed        float64
	}
	tb.eval(`import('/ui/prom.js').then((p) => {
  const m = p.parseMetrics([
    '# HELP moongate_http_requests_total Requests.',
    '# TYPE moongate_http_requests_total counter',
    'moongate_http_requests_total{route="a\\"b\\\\c\\nd",method="GET",status="200"} 3',
    'moongate_http_requests_total{ route = "x" , status="500" ,} 4 1700000000000',
    'h_bucket{route="r",le="0.1"} 50',
    'h_bucket{route="r",le="0.2"} 100',
    'h_bucket{route="r",le="+Inf"} 100',
    'h_bucket{route="s",le="0.1"} 0',
    'h_bucket{route="s",le="0.2"} 0',
    'h_bucket{route="s",le="+Inf"} 100',
    'broken{route="unterminated} 1',
    'novalue{a="b"}',
  ].join('\n'));
  const req = m.get('moongate_http_requests_total');
  const prev = p.parseMetrics('c{k="reset"} 10\nc{k="grew"} 5\n');
  const cur = p.parseMetrics('c{k="reset"} 3\nc{k="grew"} 8\nc{k="new"} 2\n');
  const r = p.buckets(m.get('h_bucket'), (l) => l.route === 'r');
  return {
    route: req[0].labels.route, status: req[0].labels.status, count: req.length,
    inf: p.parseValue('+Inf') === Infinity, value: req[1].value,
    bad: (m.get('broken') || []).length + (m.get('novalue') || []).length,
    increases: p.increases(prev, cur, 'c').map((s) => s.value),
    p50: p.quantile(0.5, r), p90: p.quantile(0.9, r), p99: p.quantile(0.99, r),
    allInInf: p.quantile(0.5, p.buckets(m.get('h_bucket'), (l) => l.route === 's')),
    empty: p.quantile(0.5, p.buckets(p.parseMetrics('h_bucket{le="1"} 0\nh_bucket{le="+Inf"} 0').get('h_bucket'))),
    summed: p.quantile(0.5, p.buckets(m.get('h_bucket'))),
  };
})`, &got)

	if got.Route != "a\"b\\c\nd" || got.Status != "200" || got.Count != 2 || got.Value != 4 {
		t.Errorf("parsed route %q status %q, %d samples, second value %v; want \"a\\\"b\\\\c\\nd\", 200, 2, 4",
			got.Route, got.Status, got.Count, got.Value)
	}
	if !got.Inf || got.Bad != 0 {
		t.Errorf("+Inf read as Infinity: %v; unreadable lines kept: %d", got.Inf, got.Bad)
	}
	if want := []float64{3, 3, 2}; !equal(got.Increases, want) {
		t.Errorf("increases %v, want %v (reset counts from 0, a new series from 0)", got.Increases, want)
	}
	// Prometheus: rank q*100 in buckets (0,0.1]=50, (0.1,0.2]=50.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", got.P50, 0.1},
		{"p90", got.P90, 0.1 + 0.1*(90-50)/50},
		{"p99", got.P99, 0.1 + 0.1*(99-50)/50},
		{"all in +Inf", got.AllInInf, 0.2},     // the highest finite bound
		{"two routes summed", got.Summed, 0.2}, // rank 100 of 200: all of r's
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got.Empty != nil {
		t.Errorf("quantile of no observation = %v, want null", got.Empty)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// testToken opens the dashboard of an admin API that has a token: the
// page asks for it, says so when it is wrong (401), shows the data once
// it is right, keeps it in sessionStorage only (not in the URL, not in a
// cookie), and forgets it on demand.
func testToken(t *testing.T, browser context.Context) {
	g := gt.Start(t, gatewayTOML)
	tb := newTab(t, browser)
	tb.run("open the page", chromedp.Navigate(g.AdminURL+"/"))
	tb.waitFor("the token form", `!document.getElementById('login').hidden`, 10*time.Second)
	if msg := tb.text("login-msg"); !strings.Contains(msg, "needs a token") {
		t.Errorf("first message %q, want one saying the admin API needs a token", msg)
	}

	tb.run("type a wrong token",
		chromedp.SendKeys("#token", "wrong"),
		chromedp.Click("#login button[type=submit]"))
	tb.waitFor("the 401 message", `document.getElementById('login-msg').textContent.includes('401')`, 10*time.Second)
	if msg := tb.text("login-msg"); !strings.Contains(msg, "refused this token") {
		t.Errorf("after a wrong token: %q, want it refused with 401", msg)
	}

	tb.run("type the token",
		chromedp.SendKeys("#token", "s3cret"),
		chromedp.Click("#login button[type=submit]"))
	tb.waitFor("the routes", `document.querySelector('#routes-body tr[data-route="api"]') !== null`, 10*time.Second)
	var where struct {
		URL, Cookie, Stored string
		Login, Forget       bool
	}
	tb.eval(`({url: location.href, cookie: document.cookie, stored: sessionStorage.getItem('moongate.admin.token'),
  login: document.getElementById('login').hidden, forget: document.getElementById('forget').hidden})`, &where)
	if strings.Contains(where.URL, "s3cret") || where.Cookie != "" || where.Stored != "s3cret" {
		t.Errorf("token in URL %q, cookie %q, sessionStorage %q: want only in sessionStorage", where.URL, where.Cookie, where.Stored)
	}
	if !where.Login || where.Forget {
		t.Errorf("login hidden %v, forget hidden %v: want the form gone and the forget button shown", where.Login, where.Forget)
	}

	tb.run("forget the token", chromedp.Click("#forget"))
	tb.waitFor("the token form again", `!document.getElementById('login').hidden`, 10*time.Second)
	var stored any
	tb.eval(`sessionStorage.getItem('moongate.admin.token')`, &stored)
	if stored != nil {
		t.Errorf("after forget, sessionStorage holds %v", stored)
	}
}
