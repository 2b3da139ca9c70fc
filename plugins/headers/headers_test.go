package headers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	_ "github.com/moongate/moongate/plugins/mock"
)

func TestRequestHeaders(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "headers"
[plugins.config.request]
set = { "X-Gateway" = "moongate", "X-Replaced" = "new" }
add = { "X-Tag" = "gw", "X-Replaced" = "added" }
remove = ["X-Debug", "X-Replaced"]
`)
	res := ch.Do(plugintest.Request{Header: []string{
		"X-Debug", "1", "x-debug", "2", // removed, in any case
		"X-Gateway", "client", // replaced
		"X-Tag", "client", // kept, one more added
		"X-Replaced", "client", // removed first, then set, then added to
		"X-Other", "kept",
	}})
	if res.Stopped || res.Sent == nil {
		t.Fatal("the request did not reach the upstream")
	}
	for name, want := range map[string]string{
		"X-Debug":    "[]",
		"X-Gateway":  "[moongate]",
		"X-Tag":      "[client gw]",
		"X-Replaced": "[new added]",
		"X-Other":    "[kept]",
	} {
		if got := fmt.Sprintf("%s", res.Sent.Header.PeekAll(name)); got != want {
			t.Errorf("upstream %s: got %s, want %s", name, got, want)
		}
	}
	// Request changes stay on the request: the client's response has none.
	if got := res.Response.Header.Peek("X-Gateway"); got != nil {
		t.Errorf("response got X-Gateway %q", got)
	}
}

func TestResponseHeaders(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "headers"
[plugins.config.response]
set = { "Strict-Transport-Security" = "max-age=63072000" }
add = { "Vary" = "Accept" }
remove = ["Server", "X-Powered-By"]
`)
	ch.SetUpstream(plugintest.Reply{Header: []string{
		"Server", "nginx/1.0", "X-Powered-By", "PHP", "Vary", "Origin",
		"Strict-Transport-Security", "max-age=1",
	}, Body: "ok"})
	res := ch.Do(plugintest.Request{Header: []string{"Server", "client"}})
	for name, want := range map[string]string{
		"Server":                    "[]",
		"X-Powered-By":              "[]",
		"Vary":                      "[Origin Accept]",
		"Strict-Transport-Security": "[max-age=63072000]",
	} {
		if got := fmt.Sprintf("%s", res.Response.Header.PeekAll(name)); got != want {
			t.Errorf("response %s: got %s, want %s", name, got, want)
		}
	}
	// Response changes stay on the response.
	if got := string(res.Sent.Header.Peek("Server")); got != "client" {
		t.Errorf("upstream Server %q, want the client's", got)
	}
	if res.Body != "ok" {
		t.Errorf("body %q", res.Body)
	}
}

// A response a later step produced itself goes back through the headers
// step too: maintenance pages and refusals get the security headers.
func TestResponseHeadersOnAnsweredRequests(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "headers"
[plugins.config.request]
set = { "X-Gateway" = "moongate" }
[plugins.config.response]
set = { "X-Frame-Options" = "DENY" }
remove = ["X-Mock"]

[[plugins]]
name = "mock"
[plugins.config]
status = 503
body = "down"
headers = { "X-Mock" = "yes", "Retry-After" = "60" }
`)
	res := ch.Do(plugintest.Request{})
	if !res.Stopped || res.Status != 503 || res.Body != "down" {
		t.Fatalf("stopped %v, %d %q", res.Stopped, res.Status, res.Body)
	}
	if got := string(res.Response.Header.Peek("X-Frame-Options")); got != "DENY" {
		t.Errorf("X-Frame-Options %q on the mock's answer", got)
	}
	if got := res.Response.Header.Peek("X-Mock"); got != nil {
		t.Errorf("X-Mock %q not removed", got)
	}
	if got := string(res.Response.Header.Peek("Retry-After")); got != "60" {
		t.Errorf("Retry-After %q", got)
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"bad name in set", `
[[plugins]]
name = "headers"
[plugins.config.request]
set = { "X Bad" = "1" }
`, `test.toml:5: plugins[0].config.request.set: invalid header name "X Bad"`},
		{"line break in a value", `
[[plugins]]
name = "headers"
[plugins.config.response]
add = { "X-A" = "1\r\nSet-Cookie: x=1" }
`, `test.toml:5: plugins[0].config.response.add: value of "X-A" contains a line break`},
		{"bad name in remove", `
[[plugins]]
name = "headers"
[plugins.config.response]
remove = ["Server:"]
`, `test.toml:5: plugins[0].config.response.remove: invalid header name "Server:"`},
		{"unknown key", `
[[plugins]]
name = "headers"
[plugins.config.request]
rename = { "X-A" = "X-B" }
`, `test.toml:5: plugins[0].config.request.rename: unknown key`},
		{"wrong type", `
[[plugins]]
name = "headers"
[plugins.config.request]
remove = "X-Debug"
`, `test.toml:5: plugins[0].config.request.remove:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := plugintest.Build(tc.toml)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}
