package aitest

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

// syncBuffer is a log destination safe for the gateway's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLogged starts a gateway like start, with its process log (debug
// level) kept for the test to read.
func startLogged(t *testing.T, build func(oa, an *providertest.Server) string) (*env, *syncBuffer) {
	t.Helper()
	e := &env{
		oa: providertest.New(t, providertest.OpenAI, providerKeyA, providerKeyB),
		an: providertest.New(t, providertest.Anthropic, providerKeyA, providerKeyB),
	}
	file := filepath.Join(t.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(gatewaytest.WithTestListeners(build(e.oa, e.an))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	logs := &syncBuffer{}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("build:\n%v", err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	e.gw = &gatewaytest.Gateway{Gateway: g, File: file, URL: "http://" + g.Addrs()[0], AdminURL: "http://" + g.AdminAddr()}
	return e, logs
}

// The shipped guardrail script (scripts/ai_guard.lua) in front of
// ai-proxy, through gw.ai: a prompt it blocks never reaches a provider,
// a long prompt goes to the cheaper model it names, and its on_log sees
// the usage of the answer, streamed or not.
func TestGuardScript(t *testing.T) {
	script, err := filepath.Abs("../../scripts/ai_guard.lua")
	if err != nil {
		t.Fatal(err)
	}
	e, logs := startLogged(t, func(oa, an *providertest.Server) string {
		route := strings.Replace(routeTOML, `  [[routes.plugins]]
  name = "ai-proxy"`, `  [[routes.plugins]]
  script = "`+script+`"
  [routes.plugins.config]
  block = ["password"]
  long_prompt_chars = 100
  long_prompt_model = "gpt-via-claude"

  [[routes.plugins]]
  name = "ai-proxy"`, 1)
		return authTOML + route + providersTOML(oa, an, []string{providerKeyA}, []string{providerKeyA}) + defaultModels
	})

	r := e.chat(t, body(chatBody, "gpt-4o"))
	if r.status != 200 || len(e.oa.Requests()) != 1 || len(e.an.Requests()) != 0 {
		t.Fatalf("ordinary prompt: %d: %s", r.status, r.body)
	}
	r = e.chat(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"the root password is hunter2"}]}`)
	if r.status != 400 || field(t, r.json(t), "error", "type") != "invalid_request_error" || len(e.oa.Requests()) != 1 {
		t.Fatalf("blocked prompt: %d: %s", r.status, r.body)
	}
	long := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"` + strings.Repeat("words ", 40) + `"}]}`
	r = e.chat(t, long)
	if r.status != 200 || len(e.an.Requests()) != 1 {
		t.Fatalf("long prompt: %d, anthropic calls %d: %s", r.status, len(e.an.Requests()), r.body)
	}
	var sent map[string]any
	e.an.Requests()[0].JSON(t, &sent)
	if sent["model"] != "claude-haiku-4-5" {
		t.Fatalf("the long prompt went to %v", sent["model"])
	}
	// on_log ran for both answers, the stream's with its final usage.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), `msg="ai usage:`) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `msg="ai usage:`) {
			lines = append(lines, l)
		}
	}
	// The log phase runs on worker goroutines: the lines may come in
	// any order.
	var json, stream bool
	for _, l := range lines {
		json = json || strings.Contains(l, "model=gpt-4o ") && strings.Contains(l, "provider=oa") && strings.Contains(l, "total=17")
		stream = stream || strings.Contains(l, "model=gpt-via-claude") && strings.Contains(l, "provider=an") && strings.Contains(l, "total=17")
	}
	if len(lines) != 2 || !json || !stream {
		t.Fatalf("usage log lines:\n%s", strings.Join(lines, "\n"))
	}
}

// Provider keys never appear in the process log, whatever happens: a
// key refused (OpenAI's 401 quotes part of it), rate limits, failures,
// errors of the gateway.
func TestProviderKeysNeverLogged(t *testing.T) {
	wrong := "sk-wrong-provider-key-EEEEEEEEEEEE"
	e, logs := startLogged(t, func(oa, an *providertest.Server) string {
		return authTOML + routeTOML + providersTOML(oa, an, []string{wrong, providerKeyA}, []string{providerKeyA, providerKeyB}) +
			defaultModels + fallbackModels("oa")
	})
	e.chat(t, body(chatBody, "gpt-4o"))
	e.chat(t, body(chatBody, "gpt-4o"))
	e.an.Enqueue(providertest.RateLimited(providertest.Anthropic, time.Minute, time.Now()))
	e.chat(t, body(chatBody, "gpt-via-claude"))
	e.oa.Enqueue(providertest.OpenAIError(500, "server_error", "", "key "+providerKeyA+" failed"))
	e.chat(t, body(chatBody, "primary"))
	e.an.Enqueue(providertest.AnthropicError(400, "invalid_request_error", "bad request with "+providerKeyB))
	r := e.messages(t, body(messagesBody, "claude-sonnet"))
	noProviderKey(t, "answer", r.body)
	out := logs.String()
	for _, k := range []string{wrong, "EEEEEEEE", providerKeyA, providerKeyB, "AAAAAAAA", "BBBBBBBB"} {
		if strings.Contains(out, k) {
			t.Fatalf("the process log holds a provider key (%q):\n%s", k, out)
		}
	}
	if !strings.Contains(out, "provider key disabled") || !strings.Contains(out, "key=#0") {
		t.Fatalf("the disabled key was not reported by its index:\n%s", out)
	}
}
