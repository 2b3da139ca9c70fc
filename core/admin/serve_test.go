package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// request builds an admin request: method, URI, then header name, value
// pairs; Host is "localhost" unless given.
func request(method, uri, body string, headers ...string) *fasthttp.RequestCtx {
	fc := &fasthttp.RequestCtx{}
	fc.Request.Header.SetMethod(method)
	fc.Request.SetRequestURI(uri)
	fc.Request.Header.SetHost("localhost")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			fc.Request.Header.SetHost(headers[i+1])
			continue
		}
		fc.Request.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		fc.Request.SetBodyString(body)
	}
	return fc
}

// testServer has GET and POST /status, and GET /cache/ and /cache/keys/
// (prefixes), each answering its own name.
func testServer(opts Options) *Server {
	s := New(opts)
	answer := func(name string) Handler {
		return func(ctx *fasthttp.RequestCtx) { WriteJSON(ctx, 200, map[string]string{"handler": name}) }
	}
	s.Handle("GET", "/status", answer("status"))
	s.Handle("POST", "/status", answer("status-post"))
	s.Handle("GET", "/cache/", answer("cache"))
	s.Handle("GET", "/cache/keys/", answer("cache-keys"))
	return s
}

// serve runs one request and returns the status and the decoded body.
func serve(t *testing.T, s *Server, fc *fasthttp.RequestCtx) (int, map[string]any) {
	t.Helper()
	s.ServeHTTP(fc)
	var body map[string]any
	if err := json.Unmarshal(fc.Response.Body(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", fc.Response.Body(), err)
	}
	if ct := string(fc.Response.Header.ContentType()); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	return fc.Response.StatusCode(), body
}

func TestRouting(t *testing.T) {
	s := testServer(Options{})
	for _, tc := range []struct {
		method, uri string
		status      int
		handler     string
	}{
		{"GET", "/status", 200, "status"},
		{"GET", "/status?verbose=1", 200, "status"},
		{"POST", "/status", 200, "status-post"},
		{"GET", "/status/", 404, ""}, // exact, not a prefix
		{"GET", "/cache/", 200, "cache"},
		{"GET", "/cache/routes/api", 200, "cache"},
		{"GET", "/cache/keys/x", 200, "cache-keys"}, // the longest prefix wins
		{"GET", "/cache", 404, ""},
		{"GET", "/nope", 404, ""},
		{"DELETE", "/status", 405, ""},
		{"PUT", "/cache/x", 405, ""},
	} {
		status, body := serve(t, s, request(tc.method, tc.uri, ""))
		if status != tc.status {
			t.Fatalf("%s %s: status %d, want %d: %v", tc.method, tc.uri, status, tc.status, body)
		}
		switch status {
		case 200:
			if body["handler"] != tc.handler {
				t.Fatalf("%s %s: served by %v, want %s", tc.method, tc.uri, body["handler"], tc.handler)
			}
		case 404:
			if body["error"] != "no such admin endpoint" || body["status"] != 404.0 {
				t.Fatalf("%s %s: body %v", tc.method, tc.uri, body)
			}
		}
	}
	fc := request("DELETE", "/status", "")
	serve(t, s, fc)
	if got := string(fc.Response.Header.Peek("Allow")); got != "GET, POST" {
		t.Fatalf("405: Allow %q, want \"GET, POST\"", got)
	}
}

func TestToken(t *testing.T) {
	s := testServer(Options{Token: "s3cret-token"})
	for _, tc := range []struct {
		auth   string
		status int
	}{
		{"", 401},
		{"Bearer wrong", 401},
		{"Bearer s3cret-token", 200},
		{"bearer s3cret-token", 200},
		{"Bearer s3cret-token ", 401},
		{"Basic s3cret-token", 401},
		{"s3cret-token", 401},
	} {
		var h []string
		if tc.auth != "" {
			h = []string{"Authorization", tc.auth}
		}
		fc := request("GET", "/status", "", h...)
		status, body := serve(t, s, fc)
		if status != tc.status {
			t.Fatalf("%q: status %d, want %d", tc.auth, status, tc.status)
		}
		if status == 401 {
			if got := string(fc.Response.Header.Peek("WWW-Authenticate")); got != `Bearer realm="moongate-admin"` {
				t.Fatalf("WWW-Authenticate %q", got)
			}
			if strings.Contains(string(fc.Response.Body()), "s3cret") {
				t.Fatalf("the answer shows the token: %v", body)
			}
		}
	}
	// The browser checks come first: a page never learns whether its
	// guess of the token was right.
	if status, _ := serve(t, s, request("GET", "/status", "", "Authorization", "Bearer s3cret-token", "Origin", "https://evil.example")); status != 403 {
		t.Fatalf("cross-origin request with the token: status %d, want 403", status)
	}
}

// Requests a web page could make are refused, token or not.
func TestBrowserChecks(t *testing.T) {
	s := testServer(Options{AllowedHosts: []string{"gw.internal"}})
	for _, tc := range []struct {
		name, method, uri, body string
		headers                 []string
		status                  int
	}{
		{"no Host", "GET", "/status", "", []string{"Host", ""}, 403},
		{"a foreign Host (DNS rebinding)", "GET", "/status", "", []string{"Host", "evil.example"}, 403},
		{"an allowed host", "GET", "/status", "", []string{"Host", "gw.internal:9080"}, 200},
		{"an absolute URI to another host", "GET", "http://evil.example/status", "", nil, 403},
		{"a cross-origin page", "GET", "/status", "", []string{"Origin", "https://evil.example"}, 403},
		{"the null origin", "GET", "/status", "", []string{"Origin", "null"}, 403},
		{"its own origin", "GET", "/status", "", []string{"Origin", "http://localhost"}, 200},
		{"Sec-Fetch-Site cross-site", "GET", "/status", "", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"Sec-Fetch-Site same-site", "GET", "/status", "", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"Sec-Fetch-Site none (typed in)", "GET", "/status", "", []string{"Sec-Fetch-Site", "none"}, 200},
		{"a form post", "POST", "/status", "a=1", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"a text/plain post", "POST", "/status", "{}", []string{"Content-Type", "text/plain"}, 415},
		{"a body without a type", "POST", "/status", "{}", nil, 415},
		{"a JSON post", "POST", "/status", "{}", []string{"Content-Type", "application/json; charset=utf-8"}, 200},
		{"curl -X POST", "POST", "/status", "", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := serve(t, s, request(tc.method, tc.uri, tc.body, tc.headers...))
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	fc := &fasthttp.RequestCtx{}
	WriteError(fc, 422, `bad "thing" <here>`)
	if got := string(fc.Response.Body()); got != "{\n  \"error\": \"bad \\\"thing\\\" \\u003chere\\u003e\",\n  \"status\": 422\n}\n" {
		t.Fatalf("body %q", got)
	}
	fc = &fasthttp.RequestCtx{}
	WriteJSON(fc, 200, func() {}) // cannot be encoded
	if fc.Response.StatusCode() != 500 || !strings.Contains(string(fc.Response.Body()), "encoding failed") {
		t.Fatalf("%d %s", fc.Response.StatusCode(), fc.Response.Body())
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"Gateway.Internal.": "gateway.internal",
		" 10.0.0.5 ":        "10.0.0.5",
		"::1":               "[::1]",
		"[fd00::1]":         "[fd00::1]",
		"::ffff:10.0.0.5":   "10.0.0.5",
		"host:9080":         "",
		"http://host":       "",
		"*.example.com":     "",
		"":                  "",
	} {
		if got := NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}
