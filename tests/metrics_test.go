package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/keyauth"
	_ "github.com/moongate/moongate/plugins/lua"
	"github.com/valyala/fasthttp"
)

// dashboard is what the test reads of a Grafana dashboard.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		GridPos *struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Datasource *struct {
			Type string `json:"type"`
		} `json:"datasource"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
}

var metricName = regexp.MustCompile(`\bmoongate_[a-z0-9_]+`)

// TestGrafanaDashboard: docs/grafana/moongate-dashboard.json is a Grafana
// dashboard (JSON of its model: title, uid, panels with a place and
// Prometheus queries), and every metric it queries is served by GET
// /metrics of a gateway under traffic that exercises every family.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "grafana", "moongate-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("title %q, uid %q, %d panels", d.Title, d.UID, len(d.Panels))
	}
	queried := map[string]bool{}
	for _, p := range d.Panels {
		if p.Type == "" || p.Title == "" || p.GridPos == nil || p.GridPos.W < 1 || p.GridPos.H < 1 {
			t.Errorf("panel %q: type %q, gridPos %v", p.Title, p.Type, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || len(p.Targets) == 0 {
			t.Errorf("panel %q has no Prometheus query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") {
				t.Errorf("panel %q: query %q", p.Title, tg.Expr)
			}
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				queried[n] = true
			}
		}
	}
	for _, v := range d.Templating.List {
		for _, n := range metricName.FindAllString(v.Definition, -1) {
			queried[n] = true
		}
	}
	for _, a := range d.Annotations.List {
		for _, n := range metricName.FindAllString(a.Expr, -1) {
			queried[n] = true
		}
	}

	s := trafficForEveryFamily(t)
	var missing []string
	for n := range queried {
		family := n
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f, ok := strings.CutSuffix(n, suffix); ok && s.Families[f] != nil {
				family = f
			}
		}
		if s.Families[family] == nil {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the dashboard queries metrics /metrics does not serve: %v\nserved: %v", missing, s.Names())
	}
	if len(queried) < 20 {
		t.Errorf("the dashboard queries %d metrics; want them all", len(queried))
	}
}

// trafficForEveryFamily starts a gateway whose configuration has a
// cache, an auth step, a script and an upstream target that fails, sends
// traffic through all of them, reloads once, and returns /metrics.
func trafficForEveryFamily(t *testing.T) *gt.Scraped {
	dir := t.TempDir()
	script := filepath.Join(dir, "count.lua")
	if err := os.WriteFile(script, []byte(`return { on_request = function() gw.metrics.inc("hits_total", { kind = "a" }) end }`), 0o644); err != nil {
		t.Fatal(err)
	}
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.SetBodyString("ok")
	})
	down := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {})
	down.Close()
	g := gt.Start(t, `
[lua]
dir = "`+dir+`"
[[upstreams]]
name = "up"
targets = [{ url = "`+up.URL+`" }, { url = "`+down.URL+`" }]
balancer = "round-robin"
[upstreams.outlier]
consecutive_failures = 1
[[routes]]
name = "cached"
paths = ["/cached/"]
upstream = "up"
  [[routes.plugins]]
  name = "cache"
  [[routes.plugins]]
  script = "`+script+`"
  metrics = { hits_total = ["kind"] }
[[routes]]
name = "private"
paths = ["/private/"]
upstream = "up"
  [[routes.plugins]]
  name = "key-auth"
`)
	for i := 0; i < 4; i++ {
		gt.Do(t, "GET", g.URL+"/cached/x", nil)
		gt.Do(t, "GET", g.URL+"/private/x", nil)
	}
	gt.Do(t, "GET", g.URL+"/nowhere", nil)
	if res := g.Reload(); !res.OK {
		t.Fatal(res.Messages)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := gt.Scrape(t, g.AdminURL)
		if v, _ := s.Value("moongate_http_request_duration_seconds", "route", "private"); v == 4 || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}
