package accesslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/accesslog"
	_ "github.com/moongate/moongate/plugins/keyauth"
	_ "github.com/moongate/moongate/plugins/mock"
	_ "github.com/moongate/moongate/plugins/requestid"
	"github.com/valyala/fasthttp"
)

// stop shuts the gateway down, which writes every line taken.
func stop(t *testing.T, g *gatewaytest.Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// readLines returns the lines of the file at path.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// do sends a request and returns the response's status and body.
func do(t *testing.T, method, url string, body []byte, headers ...string) (int, []byte) {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	req.SetBody(body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	if err := gatewaytest.Client().Do(req, resp); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}

const aliceKey = "alice-key-0123456789abcdef"

// Every field of a JSON line, from a request through a trusted proxy,
// authenticated, with a query holding a credential the auth step does
// not read (another case), proxied to a real upstream.
func TestJSONLineHasEveryField(t *testing.T) {
	body := bytes.Repeat([]byte("b"), 1234)
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/42" { // strip_prefix
			ctx.SetStatusCode(404)
			return
		}
		ctx.SetStatusCode(201)
		ctx.SetBody(body)
	})
	file := filepath.Join(t.TempDir(), "access.log")
	g := gatewaytest.Start(t, `
[server]
listen = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1/32"]
[[plugins]]
name = "request-id"
[[plugins]]
name = "access-log"
[plugins.config]
output = "`+file+`"
[[consumers]]
name = "alice"
keys = ["`+aliceKey+`"]
[[upstreams]]
name = "users-svc"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
name = "users"
paths = ["/api/users/"]
upstream = "users-svc"
strip_prefix = true
  [[routes.plugins]]
  name = "key-auth"
  [routes.plugins.config]
  query = "apikey"
`)
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	status, got := do(t, "POST", g.URL+"/api/users/42?page=2&apikey="+aliceKey+"&APIKEY=other-secret", []byte("0123456789"),
		"User-Agent", "curl/8.5.0", "Referer", "https://example.com/?apikey=ref-secret#top", "Traceparent", tp,
		"X-Request-Id", "req-7f3c9a", "X-Forwarded-For", "203.0.113.7")
	if status != 201 || len(got) != len(body) {
		t.Fatalf("status %d, %d bytes", status, len(got))
	}
	stop(t, g)
	lines := readLines(t, file)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("%v: %s", err, lines[0])
	}
	want := map[string]any{
		"request_id": "req-7f3c9a", "client_ip": "203.0.113.7", "method": "POST", "path": "/api/users/42",
		"query": "page=2&APIKEY=[redacted]", "protocol": "HTTP/1.1", "status": 201.0, "bytes_sent": 1234.0,
		"bytes_received": 10.0, "upstream": "users-svc", "upstream_target": strings.TrimPrefix(up.URL, "http://"),
		"upstream_status": 201.0, "retries": 0.0, "route": "users", "consumer": "alice",
		"user_agent": "curl/8.5.0", "referer": "https://example.com/?apikey=[redacted]#top",
	}
	// The traceparent sent upstream: the client's trace, the gateway's
	// span as parent-id ([tracing]).
	if got, _ := rec["traceparent"].(string); !strings.HasPrefix(got, tp[:36]) || len(got) != len(tp) || got == tp {
		t.Errorf("traceparent: got %q, want the client's trace %s with the gateway's span", got, tp[3:35])
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s: got %v, want %v", k, rec[k], v)
		}
	}
	for _, k := range []string{"request_time", "upstream_time"} {
		if d, ok := rec[k].(float64); !ok || d <= 0 {
			t.Errorf("%s: got %v, want a positive number of seconds", k, rec[k])
		}
	}
	if ts, err := time.Parse(time.RFC3339, rec["time"].(string)); err != nil || time.Since(ts) > time.Minute {
		t.Errorf("time: got %v (%v)", rec["time"], err)
	}
	if strings.Contains(lines[0], "secret") || strings.Contains(lines[0], aliceKey) {
		t.Errorf("a credential reached the line: %s", lines[0])
	}
}

// The combined format and a template, and a request a step answered:
// no upstream fields.
func TestCombinedAndTemplate(t *testing.T) {
	dir := t.TempDir()
	combined, tpl := filepath.Join(dir, "combined.log"), filepath.Join(dir, "tpl.log")
	g := gatewaytest.Start(t, `
[[plugins]]
name = "access-log"
[plugins.config]
output = "`+combined+`"
format = "combined"
[[routes]]
name = "hello"
paths = ["/hello"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "hello"
  [[routes.plugins]]
  name = "access-log"
  [routes.plugins.config]
  output = "`+tpl+`"
  format = '$route $status $bytes_sent "$upstream_target" $request'
`)
	do(t, "GET", g.URL+"/hello?x=1", nil, "User-Agent", "probe/1")
	stop(t, g)
	// The route's step replaces the global one of the same name.
	if lines := readLines(t, combined); len(lines) != 0 {
		t.Errorf("combined: %q, want nothing", lines)
	}
	lines := readLines(t, tpl)
	if want := `hello 200 5 "-" GET /hello?x=1 HTTP/1.1`; len(lines) != 1 || lines[0] != want {
		t.Errorf("template: got %q, want %q", lines, want)
	}

	g = gatewaytest.Start(t, `
[[plugins]]
name = "access-log"
[plugins.config]
output = "`+combined+`"
format = "combined"
[[routes]]
paths = ["/hello"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "hello"
`)
	do(t, "GET", g.URL+"/hello?x=1", nil, "User-Agent", "probe/1")
	stop(t, g)
	lines = readLines(t, combined)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "127.0.0.1 - - [") ||
		!strings.HasSuffix(lines[0], `] "GET /hello?x=1 HTTP/1.1" 200 5 "-" "probe/1"`) {
		t.Errorf("combined: got %q", lines)
	}
}

// [log] access logs every route, unless a route turns its step off.
func TestLogAccessDefault(t *testing.T) {
	file := filepath.Join(t.TempDir(), "access.log")
	g := gatewaytest.Start(t, `
[log]
access = "`+file+`"
access_format = "$route $status"
[[routes]]
name = "a"
paths = ["/a"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "a"
[[routes]]
name = "quiet"
paths = ["/quiet"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "q"
  [[routes.plugins]]
  name = "access-log"
  enabled = false
`)
	do(t, "GET", g.URL+"/a", nil)
	do(t, "GET", g.URL+"/quiet", nil)
	do(t, "GET", g.URL+"/a", nil)
	stop(t, g)
	if lines := readLines(t, file); strings.Join(lines, "|") != "a 200|a 200" {
		t.Errorf("got %q, want two lines of route a", lines)
	}
}

// Bad settings are refused with the key and the reason, for the step
// and for [log].
func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"unknown format", `
[[plugins]]
name = "access-log"
[plugins.config]
format = "xml"`, `plugins[0].config.format: must be "json", "combined" or a template of $variables, got "xml"`},
		{"misspelt variable", `
[[plugins]]
name = "access-log"
[plugins.config]
format = "$status $reqest_time"`, `plugins[0].config.format: unknown variable "$reqest_time" (did you mean "$request_time"?)`},
		{"bad escape", `
[[plugins]]
name = "access-log"
[plugins.config]
format = "$status"
escape = "html"`, `plugins[0].config.escape: must be "default" or "json", got "html"`},
		{"[log] access_format", `
[log]
access = "stdout"
access_format = "$stauts"`, `log.access_format: unknown variable "$stauts" (did you mean "$status"?)`},
		{"unwritable file", `
[log]
access = "/nonexistent-dir/access.log"`, `log.access: cannot open the access log`},
		{"unknown key", `
[[plugins]]
name = "access-log"
[plugins.config]
outptu = "stdout"`, `plugins[0].config.outptu`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("test.toml", []byte(tc.toml+`
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "mock"
`))
			if err == nil {
				_, err = gateway.Build(cfg, nil, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
