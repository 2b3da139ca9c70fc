package dashboard_test

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/dashboard"
	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/mock"
)

// gatewayTOML is a gateway with an admin token and one mocked route.
const gatewayTOML = `[admin]
listen = "127.0.0.1:0"
token = "s3cret"

[[routes]]
name = "api"
paths = ["/api/"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  status = 200
  body = "ok"
`

// TestPageWithoutToken fetches the dashboard from an admin API that has
// a token: the page and its files are answered without it, with a strict
// CSP, nosniff and no framing, while the data (/status, /routes, an
// unknown path under /ui/) still needs it.
func TestPageWithoutToken(t *testing.T) {
	g := gt.Start(t, gatewayTOML)
	for _, tc := range []struct{ path, contentType, contains string }{
		{"/ui/", "text/html; charset=utf-8", `<script type="module" src="app.js"></script>`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "from './prom.js'"},
		{"/ui/prom.js", "text/javascript; charset=utf-8", "export function parseMetrics"},
		{"/ui/chart.js", "text/javascript; charset=utf-8", "export class LineChart"},
		{"/ui/style.css", "text/css; charset=utf-8", ".tile"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		st, body, resp := gt.Do(t, "GET", g.AdminURL+tc.path, nil)
		if st != 200 {
			t.Errorf("GET %s without the token: %d %s", tc.path, st, body)
			continue
		}
		if ct := string(resp.Header.ContentType()); ct != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, ct, tc.contentType)
		}
		if !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		for name, want := range map[string]string{
			"Content-Security-Policy": dashboard.CSP,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := string(resp.Header.Peek(name)); got != want {
				t.Errorf("GET %s: %s %q, want %q", tc.path, name, got, want)
			}
		}
	}
	if !strings.Contains(dashboard.CSP, "default-src 'self'") || strings.Contains(dashboard.CSP, "unsafe") {
		t.Errorf("CSP %q: want default-src 'self' and nothing unsafe", dashboard.CSP)
	}

	for _, path := range []string{"/", "/ui"} {
		st, _, resp := gt.Do(t, "GET", g.AdminURL+path, nil)
		if loc := string(resp.Header.Peek("Location")); st != 302 || loc != "/ui/" {
			t.Errorf("GET %s: %d Location %q, want 302 to /ui/", path, st, loc)
		}
	}
	if st, _, resp := gt.Do(t, "HEAD", g.AdminURL+"/ui/", nil); st != 200 || resp.Header.ContentLength() <= 0 {
		t.Errorf("HEAD /ui/: %d, Content-Length %d", st, resp.Header.ContentLength())
	}

	for _, tc := range []struct {
		method, path, auth string
		status             int
	}{
		{"GET", "/status", "", 401},
		{"GET", "/routes", "", 401},
		{"GET", "/reloads", "", 401},
		{"GET", "/ui/nope.js", "", 401},
		{"GET", "/ui/nope.js", "Bearer s3cret", 404},
		{"GET", "/nope", "Bearer s3cret", 404}, // "/" is no catch-all
		{"POST", "/ui/", "", 401},              // only GET and HEAD are open
		{"GET", "/status", "Bearer s3cret", 200},
		{"GET", "/reloads", "Bearer s3cret", 200},
	} {
		var headers []string
		if tc.auth != "" {
			headers = []string{"Authorization", tc.auth}
		}
		if st, body, _ := gt.Do(t, tc.method, g.AdminURL+tc.path, nil, headers...); st != tc.status {
			t.Errorf("%s %s (%q): %d %s, want %d", tc.method, tc.path, tc.auth, st, body, tc.status)
		}
	}
}

// TestPageRefusesOtherSites: the admin API's rules against web pages
// hold for the dashboard too. Another site cannot load it (a foreign
// Host, DNS rebinding) nor link into it.
func TestPageRefusesOtherSites(t *testing.T) {
	g := gt.Start(t, gatewayTOML)
	for _, h := range [][]string{
		{"Host", "evil.example"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "http://evil.example"},
	} {
		if st, body, _ := gt.Do(t, "GET", g.AdminURL+"/ui/", nil, h...); st != 403 {
			t.Errorf("GET /ui/ with %s: %s: %d %s, want 403", h[0], h[1], st, body)
		}
	}
}

// TestFilesAreSelfContained reads the embedded files: no inline script,
// inline style or event-handler attribute (the CSP would refuse them, so
// the page would break), and no address outside the page's origin (no
// CDN, nothing fetched from elsewhere).
func TestFilesAreSelfContained(t *testing.T) {
	ui := os.DirFS("ui")
	names, err := fs.Glob(ui, "*")
	if err != nil || len(names) < 5 {
		t.Fatalf("ui files: %v %v", names, err)
	}
	url := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, name := range names {
		b, err := fs.ReadFile(ui, name)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "") // the SVG namespace, never fetched
		if m := url.FindString(text); m != "" {
			t.Errorf("%s refers to %q: the page must not load anything from elsewhere", name, m)
		}
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		for _, bad := range []*regexp.Regexp{
			regexp.MustCompile(`(?i)<script(\s[^>]*)?>[^<]+</script>`), // inline script
			regexp.MustCompile(`(?i)\sstyle\s*=`),
			regexp.MustCompile(`(?i)<style`),
			regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
			regexp.MustCompile(`(?i)javascript:`),
		} {
			if m := bad.FindString(string(b)); m != "" {
				t.Errorf("%s has %q, which the CSP refuses", name, m)
			}
		}
		for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(string(b), -1) {
			if !strings.Contains(tag, " src=") {
				t.Errorf("%s: %s has no src: an inline script, which the CSP refuses", name, tag)
			}
		}
	}
}
