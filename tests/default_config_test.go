package tests

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
)

// TestDefaultConfigTour runs the README's quick tour against the binary on
// conf/moongate.toml, moved to free ports so that it can run anywhere.
func TestDefaultConfigTour(t *testing.T) {
	src, err := os.ReadFile("../conf/moongate.toml")
	if err != nil {
		t.Fatal(err)
	}
	var p *process
	// The echo upstream's port is written in the configuration (its
	// target URL), so it is chosen here; if another process takes it
	// first, moongate exits and the test tries another.
	for try := 0; p == nil; try++ {
		cfg := string(src)
		for _, r := range [][2]string{{"0.0.0.0:8080", "127.0.0.1:0"}, {"127.0.0.1:9080", "127.0.0.1:0"}, {"127.0.0.1:8081", freePort(t)}} {
			if !strings.Contains(cfg, `"`+r[0]) {
				t.Fatalf("conf/moongate.toml no longer uses %s: update this test and the README", r[0])
			}
			cfg = strings.ReplaceAll(cfg, `"`+r[0], `"`+r[1])
			cfg = strings.ReplaceAll(cfg, `//`+r[0], `//`+r[1])
		}
		// Next to the repository's scripts, as conf/moongate.toml is: its
		// relative paths are relative to its folder.
		file := filepath.Join(tourTree(t), "conf", "moongate.toml")
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		var err error
		if p, err = tryStartBinFile(t, file); err != nil && try == 2 {
			t.Fatal(err)
		}
	}
	base, admin := "http://"+p.listen, p.admin

	type echoed struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Query   string            `json:"query"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	get := func(method, path string, body []byte, headers ...string) (int, echoed, map[string]string) {
		st, b, resp := gt.Do(t, method, base+path, body, headers...)
		var e echoed
		json.Unmarshal(b, &e)
		h := map[string]string{}
		for k, v := range resp.Header.All() {
			h[string(k)] = string(v)
		}
		h["body"] = string(b)
		return st, e, h
	}

	// curl -i localhost:8080/users/42?verbose=1
	st, e, h := get("GET", "/users/42?verbose=1", nil)
	if st != 200 || e.Path != "/v1/users/42" || e.Query != "verbose=1" || e.Headers["X-Gateway"] != "moongate" ||
		len(h["X-Request-Id"]) != 36 || e.Headers["X-Request-Id"] != h["X-Request-Id"] || h["X-Served-By"] != "moongate" {
		t.Errorf("/users/42: %d %+v %v", st, e, h)
	}
	// Its access-log line, on moongate's standard output.
	var line map[string]any
	waitFor(t, func() bool {
		for _, l := range strings.Split(p.out(), "\n") {
			if strings.Contains(l, `"path":"/users/42"`) {
				return json.Unmarshal([]byte(l), &line) == nil
			}
		}
		return false
	})
	if line["method"] != "GET" || line["query"] != "verbose=1" || line["status"] != 200.0 || line["route"] != "users" ||
		line["request_id"] != h["X-Request-Id"] || line["upstream"] != "echo" || line["client_ip"] != "127.0.0.1" {
		t.Errorf("access log line: %v", line)
	}
	// curl localhost:8080/api/orders -d '{"item": 1}'
	st, e, _ = get("POST", "/api/orders", []byte(`{"item": 1}`))
	if st != 200 || e.Path != "/orders" || e.Method != "POST" || e.Body != `{"item": 1}` {
		t.Errorf("/api/orders: %d %+v", st, e)
	}
	// curl -i localhost:8080/hello/ -H 'X-Name: Ada'
	st, e, h = get("GET", "/hello/", nil, "X-Name", "Ada")
	if st != 200 || e.Headers["X-Greeting"] != "hi, Ada" || h["X-Hello"] != "Ada" {
		t.Errorf("/hello/ with a name: %d %+v %v", st, e, h)
	}
	// curl -i localhost:8080/hello/
	st, _, h = get("GET", "/hello/", nil)
	if st != 400 || !strings.Contains(h["body"], "who are you?") {
		t.Errorf("/hello/ without a name: %d %v", st, h)
	}
	// curl -si localhost:8080/cached/report | grep -iE '...' (twice), then
	// purge it. The README's grep must show the cache's headers only: Age
	// on the hit (a miss has none, RFC 9111 §5.1), and not the echoed
	// User-Agent of the body.
	grep := tourGrep(t)
	for i, want := range []string{"MISS", "HIT"} {
		st, body, resp := gt.Do(t, "GET", base+"/cached/report", nil, "User-Agent", "curl/8.5.0", "Accept", "*/*")
		if st != 200 || string(resp.Header.Peek("X-Cache-Status")) != want || (i == 0) != (resp.Header.Peek("Age") == nil) {
			t.Errorf("/cached/report #%d: %d\n%s, want %s, with Age only on the hit", i+1, st, resp.Header.String(), want)
		}
		var shown []string
		for _, line := range strings.Split(resp.Header.String()+string(body), "\n") {
			if line = strings.TrimRight(line, "\r"); grep.MatchString(line) {
				shown = append(shown, line)
			}
		}
		wantShown := []string{"X-Cache-Status: " + want}
		if i == 1 {
			wantShown = append(wantShown, "Age: "+string(resp.Header.Peek("Age")))
		}
		slices.Sort(shown)
		slices.Sort(wantShown)
		if !slices.Equal(shown, wantShown) {
			t.Errorf("the README's grep shows %q on response #%d, want %q", shown, i+1, wantShown)
		}
	}
	// The admin calls are sent as curl sends them: Host localhost:<port>,
	// and for the purge the Content-Type the README's curl line sets.
	_, adminPort, _ := net.SplitHostPort(admin)
	adminHost := "localhost:" + adminPort
	// curl -X POST localhost:9080/cache/purge -H 'Content-Type: application/json' -d '{"url": "/cached/report"}'
	if st, b, _ := gt.Do(t, "POST", "http://"+admin+"/cache/purge", []byte(`{"url": "/cached/report"}`),
		"Host", adminHost, "Content-Type", "application/json"); st != 200 {
		t.Errorf("purge: %d %s", st, b)
	}
	if _, _, h = get("GET", "/cached/report", nil); h["X-Cache-Status"] != "MISS" {
		t.Errorf("after the purge: %v", h)
	}
	// for i in 1 2 3 4 5 6; do curl ... localhost:8080/limited/; done
	var codes []int
	for i := 0; i < 6; i++ {
		st, _, _ := get("GET", "/limited/", nil)
		codes = append(codes, st)
	}
	if !slices.Equal(codes, []int{200, 200, 200, 200, 200, 429}) {
		t.Errorf("/limited/ six times: %v, want five 200 then 429", codes)
	}
	// curl -si localhost:8080/limited/ | grep -iE '^(ratelimit|retry-after)'
	st, _, h = get("GET", "/limited/", nil)
	if st != 429 || h["Ratelimit-Policy"] != `"60s";q=5;w=60` || !strings.HasPrefix(h["Ratelimit"], `"60s";r=0;t=`) ||
		h["Retry-After"] == "" || !strings.Contains(h["body"], "rate limit exceeded") {
		t.Errorf("/limited/ past the limit: %d %v", st, h)
	}
	// curl -i localhost:8080/legacy/v1/users
	st, _, h = get("GET", "/legacy/v1/users", nil)
	if st != 410 || !strings.Contains(h["body"], "retired") || h["X-Served-By"] != "" || h["X-Request-Id"] == "" {
		t.Errorf("/legacy: %d %v", st, h)
	}
	// curl -i -X DELETE localhost:8080/users/42
	st, e, _ = get("DELETE", "/users/42", nil)
	if st != 200 || e.Path != "/users/42" || e.Method != "DELETE" {
		t.Errorf("DELETE /users/42: %d %+v", st, e)
	}
	// curl --path-as-is localhost:8080/api/../legacy/x
	if st, _, _ := get("GET", "/api/../legacy/x", nil); st != 410 {
		t.Errorf("/api/../legacy/x: %d", st)
	}
	// curl -i localhost:8080/healthz
	if st, _, h := get("GET", "/healthz", nil); st != 200 || h["body"] != "ok\n" {
		t.Errorf("/healthz: %d %v", st, h)
	}
	// curl localhost:9080/readyz
	if st, b, _ := gt.Do(t, "GET", "http://"+admin+"/readyz", nil, "Host", adminHost); st != 200 || !strings.Contains(string(b), `"status": "ok"`) {
		t.Errorf("readyz: %d %s", st, b)
	}
	// curl -s 127.0.0.1:9080/metrics | grep '^moongate_http_requests_total'
	// The tour's requests are counted by route, method and status: what
	// the grep shows, parsed by Prometheus's text parser.
	m := gt.Scrape(t, "http://"+admin, "Host", "127.0.0.1:"+adminPort)
	for _, c := range []struct {
		route, method, status string
		want                  float64
	}{{"users", "GET", "200", 1}, {"api", "POST", "200", 1}, {"hello", "GET", "400", 1}, {"cached", "GET", "200", 3},
		{"legacy", "GET", "410", 2}} {
		if v, _ := m.Value("moongate_http_requests_total", "route", c.route, "method", c.method, "status", c.status); v != c.want {
			t.Errorf("/metrics: %s %s %s = %v, want %v\n%s", c.route, c.method, c.status, v, c.want,
				m.String("moongate_http_requests_total"))
		}
	}
	if !strings.Contains(m.Text, "\nmoongate_http_requests_total{route=\"users\",method=\"GET\",status=\"200\"} 1\n") {
		t.Errorf("the README's grep finds no line for the users route:\n%s", m.Text)
	}
	// curl localhost:9080/status
	st, b, _ := gt.Do(t, "GET", "http://"+admin+"/status", nil, "Host", adminHost)
	if st != 200 || !strings.Contains(string(b), `"routes": 8`) {
		t.Errorf("status: %d %s", st, b)
	}
	// curl -X POST localhost:9080/reload
	if st, b, _ := gt.Do(t, "POST", "http://"+admin+"/reload", nil, "Host", adminHost); st != 200 || !strings.Contains(string(b), `"ok": true`) {
		t.Errorf("reload: %d %s", st, b)
	}
}

// tourTree returns a folder laid out as the repository is for
// conf/moongate.toml: an empty conf/, and scripts/ (a link to the
// repository's).
func tourTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	scripts, err := filepath.Abs("../scripts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(scripts, filepath.Join(dir, "scripts")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tourGrep returns the pattern the README's tour greps the cached
// responses with (grep -iE), as a case-insensitive regexp.
func tourGrep(t *testing.T) *regexp.Regexp {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "curl -si localhost:8080/cached/report | grep -iE '"
	var pattern string
	for _, line := range strings.Split(string(readme), "\n") {
		if _, rest, ok := strings.Cut(line, cmd); ok {
			p, _, _ := strings.Cut(rest, "'")
			if pattern != "" && p != pattern {
				t.Fatalf("the README's tour greps with %q and %q", pattern, p)
			}
			pattern = p
		}
	}
	if pattern == "" {
		t.Fatalf("the README's tour no longer has %q...: update this test", cmd)
	}
	return regexp.MustCompile("(?i)" + pattern)
}
