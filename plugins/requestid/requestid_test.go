package requestid

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
	_ "github.com/moongate/moongate/plugins/requesttermination"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAppendUUID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := string(AppendUUID(nil))
		if !uuidV4.MatchString(id) {
			t.Fatalf("%q is not a UUID v4", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
	}
}

func BenchmarkAppendUUID(b *testing.B) {
	var buf [36]byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		AppendUUID(buf[:0])
	}
}

func TestNewIDs(t *testing.T) {
	ch := plugintest.New(t, "[[plugins]]\nname = \"request-id\"\n")
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		res := ch.Do(plugintest.Request{})
		sent := string(res.Sent.Header.Peek("X-Request-Id"))
		if !uuidV4.MatchString(sent) {
			t.Fatalf("upstream X-Request-Id %q is not a UUID v4", sent)
		}
		if got := string(res.Response.Header.Peek("X-Request-Id")); got != sent {
			t.Fatalf("response X-Request-Id %q, upstream got %q", got, sent)
		}
		if seen[sent] {
			t.Fatalf("ID %s given twice", sent)
		}
		seen[sent] = true
	}
}

func TestIncomingIDs(t *testing.T) {
	trusting := plugintest.New(t, "[[plugins]]\nname = \"request-id\"\n")
	distrusting := plugintest.New(t, "[[plugins]]\nname = \"request-id\"\n[plugins.config]\ntrust_incoming = false\n")
	for _, tc := range []struct {
		name, id string
		kept     bool
	}{
		{"well-formed", "client-id-42", true},
		{"128 characters", strings.Repeat("a", 128), true},
		{"129 characters", strings.Repeat("a", 129), false},
		{"a space", "two words", false},
		{"not ASCII", "café", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := trusting.Do(plugintest.Request{Header: []string{"X-Request-Id", tc.id}})
			sent := string(res.Sent.Header.Peek("X-Request-Id"))
			if tc.kept && sent != tc.id || !tc.kept && !uuidV4.MatchString(sent) {
				t.Fatalf("trust_incoming: upstream got %q for %q", sent, tc.id)
			}
			if got := string(res.Response.Header.Peek("X-Request-Id")); got != sent {
				t.Fatalf("response ID %q, upstream's %q", got, sent)
			}
			res = distrusting.Do(plugintest.Request{Header: []string{"X-Request-Id", tc.id}})
			if sent := string(res.Sent.Header.Peek("X-Request-Id")); !uuidV4.MatchString(sent) {
				t.Fatalf("trust_incoming = false: upstream got %q", sent)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "request-id"
[plugins.config]
header = "X-Trace"
response = false
`)
	res := ch.Do(plugintest.Request{})
	if !uuidV4.MatchString(string(res.Sent.Header.Peek("X-Trace"))) || res.Sent.Header.Peek("X-Request-Id") != nil {
		t.Fatalf("upstream X-Trace %q, X-Request-Id %q", res.Sent.Header.Peek("X-Trace"), res.Sent.Header.Peek("X-Request-Id"))
	}
	if got := res.Response.Header.Peek("X-Trace"); got != nil {
		t.Fatalf("response = false, but the response has X-Trace %q", got)
	}
	if _, err := plugintest.Build("[[plugins]]\nname = \"request-id\"\n[plugins.config]\nheader = \"\"\n"); err == nil ||
		!strings.HasPrefix(err.Error(), "test.toml:4: plugins[0].config.header: must not be empty") {
		t.Fatalf("empty header: %v", err)
	}
}

// The ID is in the error bodies the gateway writes for later steps.
func TestIDInErrors(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "request-id"
[[plugins]]
name = "request-termination"
`)
	res := ch.Do(plugintest.Request{Header: []string{"X-Request-Id", "abc-123"}})
	var body struct {
		Error     string `json:"error"`
		Status    int    `json:"status"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		t.Fatalf("%v: %s", err, res.Body)
	}
	if res.Status != 503 || body.RequestID != "abc-123" || string(res.Response.Header.Peek("X-Request-Id")) != "abc-123" {
		t.Fatalf("status %d, body %s, header %q", res.Status, res.Body, res.Response.Header.Peek("X-Request-Id"))
	}
}

func TestRequestIDAllocatesNothing(t *testing.T) {
	p := plugintest.New(t, "[[plugins]]\nname = \"request-id\"\n").Instances()[0].(*Plugin)
	c := plugintest.ContextFor(plugintest.Request{})
	defer plugintest.Release(c)
	plugintest.NoAllocs(t, func() {
		c.Request.Header.Del("X-Request-Id")
		p.OnRequest(c)
		p.OnResponse(c)
	})
}
