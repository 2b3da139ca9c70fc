package requestsizelimit

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

const limit1KB = `
[[plugins]]
name = "request-size-limit"
[plugins.config]
max = "1KB"
`

// A body read whole is refused by its size, before the upstream is called.
func TestBufferedBody(t *testing.T) {
	ch := plugintest.New(t, limit1KB)
	for _, tc := range []struct {
		size   int
		status int
	}{{0, 200}, {1, 200}, {1024, 200}, {1025, 413}, {64 << 10, 413}} {
		res := ch.Do(plugintest.Request{Method: "POST", URL: "/upload", Body: strings.Repeat("a", tc.size)})
		if res.Status != tc.status {
			t.Fatalf("%d bytes: status %d, want %d: %s", tc.size, res.Status, tc.status, res.Body)
		}
		if tc.status == 200 {
			if res.Sent == nil || len(res.Sent.Body()) != tc.size {
				t.Fatalf("%d bytes: the upstream did not get the body", tc.size)
			}
			continue
		}
		if !res.Stopped || res.Sent != nil {
			t.Fatalf("%d bytes: the upstream was called", tc.size)
		}
		if !strings.Contains(res.Body, `"request body too large"`) {
			t.Errorf("%d bytes: body %s", tc.size, res.Body)
		}
		// The rest of an oversized body is not read: the connection closes.
		if !res.Response.ConnectionClose() {
			t.Errorf("%d bytes: no Connection: close", tc.size)
		}
	}
}

// A chunked body too large to be buffered streams to the upstream: the
// step cannot see its size, so it lowers the stream's limit, and the
// upstream call stops with 413 past it.
func TestStreamedBody(t *testing.T) {
	ch := plugintest.New(t, limit1KB)
	res := ch.Do(plugintest.Request{Method: "POST", Stream: true, Body: strings.Repeat("a", 1024)})
	if res.Status != 200 || res.Sent == nil || len(res.Sent.Body()) != 1024 {
		t.Fatalf("1KB streamed: status %d: %s", res.Status, res.Body)
	}
	res = ch.Do(plugintest.Request{Method: "POST", Stream: true, Body: strings.Repeat("a", 1025)})
	if res.Status != 413 || res.Sent != nil || !strings.Contains(res.Body, `"request body too large"`) {
		t.Fatalf("1KB+1 streamed: status %d, sent %v: %s", res.Status, res.Sent != nil, res.Body)
	}
	// The step let the request go on: it is the stream that was refused.
	if res.Stopped {
		t.Error("the step stopped a streamed body it cannot measure")
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[[plugins]]\nname = \"request-size-limit\"\n[plugins.config]\n", `test.toml:3: plugins[0].config.max: is required, such as "1MB"`},
		{"[[plugins]]\nname = \"request-size-limit\"\n[plugins.config]\nmax = \"1 parsec\"\n", "test.toml:4: plugins[0].config.max:"},
		{"[[plugins]]\nname = \"request-size-limit\"\n[plugins.config]\nmax = \"1MB\"\nmin = \"1KB\"\n", "test.toml:5: plugins[0].config.min: unknown key"},
	} {
		_, err := plugintest.Build(tc.toml)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

// TestProblemWithoutConfigTable: a step with no [config] table at all
// gets its problems with file, line and key path too (it used to print
// `: max: is required, such as "1MB"`).
func TestProblemWithoutConfigTable(t *testing.T) {
	_, err := plugintest.Build("[[plugins]]\nname = \"request-size-limit\"\n")
	if err == nil || !strings.HasPrefix(err.Error(), "test.toml:") ||
		!strings.Contains(err.Error(), `plugins[0].config.max: is required, such as "1MB"`) {
		t.Fatalf("got %v, want test.toml:LINE: plugins[0].config.max: is required, such as \"1MB\"", err)
	}
}
