package aitest

import (
	"testing"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/plugins/aiproxy"
	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

// logged receives the per-request values every request's log phase saw,
// through the test-ai-log step.
var logged = make(chan map[string]any, 64)

func init() {
	plugin.Register("test-ai-log", func(plugin.Spec) (any, error) { return logRecorder{}, nil })
}

type logRecorder struct{}

func (logRecorder) OnLog(c *plugin.Context) {
	m := map[string]any{}
	c.VisitValues(func(k string, v any) { m[k] = v })
	logged <- m
}

func nextLogged(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m := <-logged:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no log phase")
		return nil
	}
}

// The log phase (access logs, metrics, on_log scripts) sees the model,
// the provider and the token usage of every answer, JSON or streamed:
// for a stream the usage is known only at its end, and the log phase
// waits for it (plugin.Context.HoldLog).
func TestUsageInLogPhase(t *testing.T) {
	// The log step first: the log phase runs for the steps whose request
	// phase ran, so it must come before ai-proxy.
	e := startWith(t, func(oa, an *providertest.Server) string {
		return authTOML + "[[plugins]]\nname = \"test-ai-log\"\n" + routeTOML +
			providersTOML(oa, an, []string{providerKeyA}, []string{providerKeyA}) + defaultModels + `
    [routes.plugins.config.prices]
    "claude-haiku-4-5" = { input = 1.0, output = 5.0 }
`
	})
	for len(logged) > 0 {
		<-logged
	}
	for _, tc := range []struct {
		name, model, body string
		stream            bool
	}{
		{"json pass-through", "gpt-4o", body(chatBody, "gpt-4o"), false},
		{"json translated", "gpt-via-claude", body(chatBody, "gpt-via-claude"), false},
		{"stream pass-through", "gpt-4o", body(streamChat, "gpt-4o"), true},
		{"stream translated", "gpt-via-claude", body(streamChatUsage, "gpt-via-claude"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.chat(t, tc.body); r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			m := nextLogged(t)
			if m[aiproxy.ValueModel] != tc.model || m[aiproxy.ValueStream] != tc.stream || m[aiproxy.ValueAPI] != "openai" {
				t.Fatalf("log values %v", m)
			}
			if m[aiproxy.ValuePromptTokens] != int64(12) || m[aiproxy.ValueCompletionTokens] != int64(5) || m[aiproxy.ValueTotalTokens] != int64(17) {
				t.Fatalf("usage in the log phase %v", m)
			}
			wantProvider := "oa"
			if tc.model == "gpt-via-claude" {
				wantProvider = "an"
				if c, _ := m[aiproxy.ValueCost].(float64); c < 36e-6*0.999 || c > 37e-6*1.001 {
					t.Fatalf("cost %v, want 12*1 + 5*5 = 37 micro-USD", m[aiproxy.ValueCost])
				}
			}
			if m[aiproxy.ValueProvider] != wantProvider || m[aiproxy.ValueAttempts] != int64(1) {
				t.Fatalf("provider %v attempts %v", m[aiproxy.ValueProvider], m[aiproxy.ValueAttempts])
			}
		})
	}
}
