package gateway_test

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/internal/metric"
	_ "github.com/moongate/moongate/plugins/keyauth"
	"github.com/valyala/fasthttp"
)

const metricsToken = "s3cret-admin-token"

// scrape gets /metrics with the admin token until cond holds (the
// requests counted; at most 5 s), and returns the last answer.
func scrape(t *testing.T, g *gatewaytest.Gateway, cond func(s *gatewaytest.Scraped) bool) *gatewaytest.Scraped {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := gatewaytest.Scrape(t, g.AdminURL, "Authorization", "Bearer "+metricsToken)
		if cond == nil || cond(s) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counted returns a condition: family's series with labels has value n.
func counted(n float64, family string, labels ...string) func(s *gatewaytest.Scraped) bool {
	return func(s *gatewaytest.Scraped) bool {
		v, _ := s.Value(family, labels...)
		return v == n
	}
}

func metricsConfig(upstreamURL, extra string) string {
	return `
[admin]
listen = "127.0.0.1:0"
token = "` + metricsToken + `"

[[upstreams]]
name = "backend"
targets = [{ url = "` + upstreamURL + `" }]

[[routes]]
name = "api"
paths = ["/api/"]
upstream = "backend"

[[routes]]
name = "legacy"
paths = ["/legacy/"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  status = 410
  body = "gone"
` + extra
}

// TestMetricsEndToEnd sends known traffic through a real gateway and
// upstream, then reads GET /metrics with Prometheus's own text parser:
// every request is counted once, by route, method and status, with its
// times and bytes, and the upstream's target counts its tries.
func TestMetricsEndToEnd(t *testing.T) {
	body := []byte("0123456789")
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) })
	g := gatewaytest.Start(t, metricsConfig(up.URL, `
[[routes]]
name = "private"
paths = ["/private/"]
upstream = "backend"
  [[routes.plugins]]
  name = "key-auth"
`))
	for i := 0; i < 7; i++ {
		gatewaytest.Do(t, "GET", g.URL+"/api/items/"+strconv.Itoa(i), nil)
	}
	for i := 0; i < 3; i++ {
		gatewaytest.Do(t, "POST", g.URL+"/api/items", []byte("hello"))
	}
	for i := 0; i < 2; i++ {
		if st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/legacy/x", nil); st != 410 {
			t.Fatalf("legacy: %d", st)
		}
		if st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/nowhere", nil); st != 404 {
			t.Fatalf("nowhere: %d", st)
		}
	}
	for i := 0; i < 4; i++ {
		if st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/private/x", nil, "X-API-Key", "wrong"); st != 401 {
			t.Fatalf("private: %d", st)
		}
	}

	// Without the admin token, /metrics is refused like every admin endpoint.
	if st, _, _ := gatewaytest.Do(t, "GET", g.AdminURL+"/metrics", nil); st != 401 {
		t.Errorf("/metrics without the token: %d, want 401", st)
	}

	type want struct {
		family string
		labels []string
		want   float64
	}
	wants := []want{
		{metric.HTTPRequests, []string{"route", "api", "method", "GET", "status", "200"}, 7},
		{metric.HTTPRequests, []string{"route", "api", "method", "POST", "status", "200"}, 3},
		{metric.HTTPRequests, []string{"route", "legacy", "method", "GET", "status", "410"}, 2},
		{metric.HTTPRequests, []string{"route", "", "method", "GET", "status", "404"}, 2},
		{metric.HTTPRequests, []string{"route", "private", "method", "GET", "status", "401"}, 4},
		{metric.HTTPRequestDuration, []string{"route", "api"}, 10},
		{metric.HTTPRequestDuration, []string{"route", "legacy"}, 2},
		{metric.UpstreamDuration, []string{"route", "api"}, 10},
		{metric.UpstreamDuration, []string{"route", "legacy"}, 0},
		{metric.GatewayOverhead, []string{"route", "api"}, 10},
		{metric.HTTPRequestBytes, []string{"route", "api"}, 15},
		{metric.HTTPResponseBytes, []string{"route", "api"}, 10 * float64(len(body))},
		{metric.UpstreamRequests, []string{"upstream", "backend", "target", up.URL}, 10},
		{metric.UpstreamFailures, []string{"upstream", "backend", "target", up.URL}, 0},
		{metric.UpstreamRetries, []string{"upstream", "backend"}, 0},
		{metric.UpstreamEjections, []string{"upstream", "backend", "target", up.URL}, 0},
		{metric.UpstreamTargetHealthy, []string{"upstream", "backend", "target", up.URL}, 1},
		{metric.UpstreamActive, []string{"upstream", "backend", "target", up.URL}, 0},
		{metric.AuthFailures, []string{"plugin", "key-auth"}, 4},
		{metric.ConfigInfo, []string{"hash", g.Runtime().Config.Hash}, 1},
		{metric.Reloads, []string{"result", "ok"}, 0},
		{metric.Reloads, []string{"result", "failed"}, 0},
		{metric.InflightRequests, nil, 0},
		{metric.LogDropped, nil, 0},
	}
	// Durations and response bytes are counted once each response's
	// write has ended, just after the client has it: wait for them.
	s := scrape(t, g, func(s *gatewaytest.Scraped) bool {
		for _, c := range wants {
			if got, _ := s.Value(c.family, c.labels...); got != c.want {
				return false
			}
		}
		return true
	})
	for _, c := range wants {
		got, ok := s.Value(c.family, c.labels...)
		if !ok || got != c.want {
			t.Errorf("%s%q = %v (present %v), want %v\n%s", c.family, c.labels, got, ok, c.want, s.String(c.family))
		}
	}
	// The histograms are cumulative, with le buckets up to +Inf.
	h := s.Histogram(metric.HTTPRequestDuration, "route", "api")
	if b := h.GetBucket(); len(b) != len(metric.DurationBuckets)+1 || b[len(b)-1].GetCumulativeCount() != 10 || h.GetSampleSum() <= 0 {
		t.Errorf("duration histogram of api: %v", h)
	}
	if v, _ := s.Value(metric.OpenConnections); v < 0 {
		t.Errorf("open connections: %v", v)
	}
	if v, _ := s.Value(metric.ReloadLastSuccess); v < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("last success: %v", v)
	}
	// Every family shown is documented (docs/observability.md, from
	// metric.Families), with its kind.
	for name, f := range s.Families {
		fam, ok := metric.Lookup(name)
		if !ok {
			t.Errorf("%s is not documented in metric.Families", name)
			continue
		}
		if got := strings.ToLower(f.GetType().String()); got != fam.Kind.String() {
			t.Errorf("%s is a %s, documented as a %s", name, got, fam.Kind)
		}
	}
}

// TestMetricsSurviveReload: a reload keeps the counters of the routes
// and targets it keeps (they go on counting), and takes away the series
// of a route and an upstream it removes.
func TestMetricsSurviveReload(t *testing.T) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	old := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("old") })
	extra := `
[[upstreams]]
name = "retired"
targets = [{ url = "` + old.URL + `" }]

[[routes]]
name = "old"
paths = ["/old/"]
upstream = "retired"
`
	g := gatewaytest.Start(t, metricsConfig(up.URL, extra))
	for i := 0; i < 3; i++ {
		gatewaytest.Do(t, "GET", g.URL+"/api/x", nil)
		gatewaytest.Do(t, "GET", g.URL+"/old/x", nil)
	}
	apiGet := []string{"route", "api", "method", "GET", "status", "200"}
	oldGet := []string{"route", "old", "method", "GET", "status", "200"}
	s := scrape(t, g, counted(3, metric.HTTPRequests, oldGet...))
	if v, _ := s.Value(metric.HTTPRequests, apiGet...); v != 3 {
		t.Fatalf("before the reload: api %v, want 3", v)
	}
	g.Rewrite(t, metricsConfig(up.URL, "# the old route and its upstream are gone\n"))
	if res := g.Reload(); !res.OK {
		t.Fatalf("reload: %v", res.Messages)
	}
	for i := 0; i < 2; i++ {
		gatewaytest.Do(t, "GET", g.URL+"/api/x", nil)
	}
	s = scrape(t, g, counted(5, metric.HTTPRequestDuration, "route", "api"))
	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{metric.HTTPRequests, apiGet, 5},
		{metric.HTTPRequestDuration, []string{"route", "api"}, 5},
		{metric.UpstreamRequests, []string{"upstream", "backend", "target", up.URL}, 5},
		{metric.Reloads, []string{"result", "ok"}, 1},
		{metric.ConfigInfo, []string{"hash", g.Runtime().Config.Hash}, 1},
	} {
		if got, ok := s.Value(c.family, c.labels...); !ok || got != c.want {
			t.Errorf("after the reload, %s%q = %v (present %v), want %v", c.family, c.labels, got, ok, c.want)
		}
	}
	for _, family := range []string{metric.HTTPRequests, metric.HTTPRequestDuration, metric.HTTPRequestBytes} {
		if vals := s.LabelValues(family, "route"); strings.Contains(strings.Join(vals, ","), "old") {
			t.Errorf("after the reload, %s still has route=old: %q", family, vals)
		}
	}
	for _, family := range []string{metric.UpstreamRequests, metric.UpstreamRetries, metric.UpstreamTargetHealthy} {
		if vals := s.LabelValues(family, "upstream"); len(vals) != 1 || vals[0] != "backend" {
			t.Errorf("after the reload, %s has upstreams %q, want backend only", family, vals)
		}
	}
	if n := s.Series(metric.ConfigInfo); n != 1 {
		t.Errorf("%d config_info series, want 1", n)
	}

	// A refused reload counts as failed and changes no series.
	g.Rewrite(t, metricsConfig(up.URL, "[[routes]]\nname = \"bad\"\npaths = [\"/bad/\"]\nupstream = \"nope\"\n"))
	if res := g.Reload(); res.OK {
		t.Fatal("a reload naming an unknown upstream was accepted")
	}
	s = scrape(t, g, nil)
	if v, _ := s.Value(metric.Reloads, "result", "failed"); v != 1 {
		t.Errorf("failed reloads: %v, want 1", v)
	}
	if v, _ := s.Value(metric.HTTPRequests, apiGet...); v != 5 {
		t.Errorf("after a refused reload: api %v, want 5", v)
	}
}

// TestMetricsCardinalityBounded sends requests with random paths,
// hosts, methods, headers and queries: once each kind of answer has been
// seen, more of them add no series. Labels come from the configuration
// and a fixed list of methods, never from what a client sends.
func TestMetricsCardinalityBounded(t *testing.T) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := gatewaytest.Start(t, metricsConfig(up.URL, ""))
	rnd := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, 1+rnd.IntN(12))
		for i := range b {
			b[i] = letters[rnd.IntN(len(letters))]
		}
		return string(b)
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND", "X" + "FOO", "BREW"}
	send := func(n int) {
		for i := 0; i < n; i++ {
			path := []string{"/api/", "/legacy/", "/", "/zz/"}[rnd.IntN(4)] + word() + "?" + word() + "=" + word()
			method := methods[rnd.IntN(len(methods))]
			if rnd.IntN(5) == 0 {
				method = strings.ToUpper(word())
				if method[0] >= '0' && method[0] <= '9' {
					method = "M" + method
				}
			}
			gatewaytest.Do(t, method, g.URL+path, nil, "Host", word()+".example", "X-"+word(), word(),
				"User-Agent", word())
		}
	}
	// Every method and route once, so that each kind of answer is seen.
	for _, m := range methods {
		for _, p := range []string{"/api/a", "/legacy/a", "/zz"} {
			gatewaytest.Do(t, m, g.URL+p, nil)
		}
	}
	send(100)
	before := scrape(t, g, nil)
	send(200)
	after := scrape(t, g, nil)
	if before.Total() != after.Total() {
		t.Errorf("%d series before, %d after 200 more random requests:\n%s", before.Total(), after.Total(),
			after.String(metric.HTTPRequests))
	}
	if got := after.LabelValues(metric.HTTPRequests, "route"); strings.Join(got, ",") != ",api,legacy" {
		t.Errorf("route labels %q, want \"\", api, legacy", got)
	}
	for _, m := range after.LabelValues(metric.HTTPRequests, "method") {
		if !strings.Contains("GET HEAD POST PUT DELETE PATCH OPTIONS CONNECT TRACE OTHER", m) {
			t.Errorf("method label %q", m)
		}
	}
}

// TestMetricsAfterTheStreamEnds: a streamed response's duration and
// bytes are counted when its stream ends, with the body bytes the
// connection really wrote (a chunked stream announces no length), not
// when the handler returns.
func TestMetricsAfterTheStreamEnds(t *testing.T) {
	last := make(chan struct{})
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i := range 3 {
				w.WriteString("data: " + strconv.Itoa(i) + "\n\n")
				w.Flush()
			}
			<-last
			w.WriteString("data: end\n\n")
			w.Flush()
		})
	})
	g := gatewaytest.Start(t, metricsConfig(up.URL, ""))
	c, br := rawGet(t, g, "/api/events")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3*len("data: 0\n\n"))
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatal(err)
	}
	// The handler has returned (the status is counted), the stream goes on.
	s := scrape(t, g, counted(1, metric.HTTPRequests, "route", "api", "method", "GET", "status", "200"))
	if v, _ := s.Value(metric.HTTPRequestDuration, "route", "api"); v != 0 {
		t.Errorf("the request's duration was counted before its stream ended")
	}
	close(last)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "data: end\n\n" {
		t.Fatalf("rest %q (%v)", rest, err)
	}
	c.Close()
	want := float64(len(got) + len(rest))
	s = scrape(t, g, counted(want, metric.HTTPResponseBytes, "route", "api"))
	if v, _ := s.Value(metric.HTTPResponseBytes, "route", "api"); v != want {
		t.Errorf("response bytes %v, want %v", v, want)
	}
	if v, _ := s.Value(metric.HTTPRequestDuration, "route", "api"); v != 1 {
		t.Errorf("duration count %v, want 1", v)
	}
}
