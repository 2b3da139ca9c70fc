package aitest

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

// A wrong, or missing, client key is the SDK's authentication error: 401
// with OpenAI's error JSON on OpenAI's paths, Anthropic's on /messages.
// key-auth refuses the request before ai-proxy runs; ai-errors, first in
// the chain, reshapes the gateway's error.
func TestWrongClientKeyIsAuthenticationError(t *testing.T) {
	e := start(t, defaultModels)
	for _, tc := range []struct {
		name    string
		path    string
		headers map[string]string
	}{
		{"openai wrong key", "/v1/chat/completions", openaiHeaders("wrong-key-0123456789")},
		{"openai no key", "/v1/chat/completions", map[string]string{"Content-Type": "application/json"}},
		{"anthropic wrong key", "/v1/messages", anthropicHeaders("wrong-key-0123456789")},
		{"anthropic no key", "/v1/messages", map[string]string{"anthropic-version": "2023-06-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", tc.path, tc.headers, body(chatBody, "gpt-4o"))
			if r.status != 401 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			m := r.json(t)
			if tc.path == "/v1/messages" {
				if m["type"] != "error" || field(t, m, "error", "type") != "authentication_error" {
					t.Fatalf("not Anthropic's authentication error: %s", r.body)
				}
			} else if field(t, m, "error", "type") != "invalid_request_error" || field(t, m, "error", "code") != "invalid_api_key" {
				t.Fatalf("not OpenAI's authentication error: %s", r.body)
			}
			if len(e.oa.Requests())+len(e.an.Requests()) != 0 {
				t.Fatal("a refused request reached a provider")
			}
		})
	}
}

// Errors of the gateway itself are in the client API's shape too.
func TestGatewayErrorsInClientShape(t *testing.T) {
	e := start(t, defaultModels)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		typ                      string // OpenAI error.type, or Anthropic error.type
	}{
		{"unknown model", "POST", "/v1/chat/completions", body(chatBody, "no-such-model"), 404, "invalid_request_error"},
		{"unknown model anthropic", "POST", "/v1/messages", body(messagesBody, "no-such-model"), 404, "not_found_error"},
		{"not JSON", "POST", "/v1/chat/completions", `{"model":`, 400, "invalid_request_error"},
		{"no model", "POST", "/v1/messages", `{"messages":[]}`, 400, "invalid_request_error"},
		{"wrong method", "GET", "/v1/chat/completions", "", 405, "invalid_request_error"},
		{"unknown endpoint", "POST", "/v1/completions", `{}`, 404, "invalid_request_error"},
		{"untranslatable request", "POST", "/v1/chat/completions",
			`{"model":"gpt-via-claude","n":2,"messages":[{"role":"user","content":"Hi"}]}`, 400, "invalid_request_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := openaiHeaders(clientKey)
			if strings.HasSuffix(tc.path, "/messages") {
				h = anthropicHeaders(clientKey)
			}
			r := e.do(t, tc.method, tc.path, h, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if got := field(t, r.json(t), "error", "type"); got != tc.typ {
				t.Fatalf("error type %v, want %s: %s", got, tc.typ, r.body)
			}
		})
	}
}

// A provider's error about the request reaches the client in the
// client's shape, with its status and message (redacted), whichever API
// the provider speaks. Errors about the gateway's own account (a refused
// provider key) are the gateway's business: the client gets a 502 that
// names no key.
func TestProviderErrorsInClientShape(t *testing.T) {
	e := start(t, defaultModels)

	e.an.Enqueue(providertest.AnthropicError(400, "invalid_request_error", "messages: roles must alternate (key sk-ant-api03-SECRETSECRET)"))
	r := e.chat(t, body(chatBody, "gpt-via-claude"))
	if r.status != 400 || field(t, r.json(t), "error", "type") != "invalid_request_error" ||
		!strings.Contains(r.json(t)["error"].(map[string]any)["message"].(string), "roles must alternate") {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "SECRETSECRET") {
		t.Fatalf("a key-like string of the provider's message reached the client: %s", r.body)
	}

	e.oa.Enqueue(providertest.OpenAIError(422, "invalid_request_error", "", "Invalid 'max_tokens'"))
	r = e.messages(t, body(messagesBody, "claude-via-gpt"))
	if r.status != 422 || field(t, r.json(t), "error", "type") != "invalid_request_error" || r.json(t)["type"] != "error" {
		t.Fatalf("status %d: %s", r.status, r.body)
	}

	// Anthropic's 529 is OpenAI's 503 (no fallback here).
	e.an.Enqueue(providertest.AnthropicError(529, "overloaded_error", "Overloaded"))
	r = e.chat(t, body(chatBody, "gpt-via-claude"))
	if r.status != 503 || field(t, r.json(t), "error", "type") != "server_error" {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	noProviderKey(t, "error answer", r.body)
}

// A provider key the provider refuses: the client gets a 502 that shows
// no key (OpenAI's 401 quotes part of the key it got), and the key is
// disabled.
func TestRefusedProviderKeyNeverShown(t *testing.T) {
	wrong := "sk-wrong-provider-key-CCCCCCCCCCCC"
	e := startWith(t, func(oa, an *providertest.Server) string {
		return authTOML + routeTOML + providersTOML(oa, an, []string{wrong}, []string{wrong}) + defaultModels
	})
	for _, model := range []string{"gpt-4o", "gpt-via-claude"} {
		r := e.chat(t, body(chatBody, model))
		if r.status != 502 || field(t, r.json(t), "error", "type") != "server_error" {
			t.Fatalf("%s: status %d: %s", model, r.status, r.body)
		}
		for _, part := range []string{wrong, wrong[:8], wrong[len(wrong)-4:], "CCCC"} {
			if strings.Contains(string(r.body), part) {
				t.Fatalf("%s: the answer shows part of the provider key (%q): %s", model, part, r.body)
			}
		}
	}
	keys := e.adminGet(t, "/ai/keys")
	if !strings.Contains(string(keys), `"disabled_by": 401`) || strings.Contains(string(keys), "CCCC") || strings.Contains(string(keys), "sk-") {
		t.Fatalf("GET /ai/keys: %s", keys)
	}
	// Disabled: the next request does not reach the provider at all.
	n := len(e.oa.Requests())
	r := e.chat(t, body(chatBody, "gpt-4o"))
	if r.status != 503 || len(e.oa.Requests()) != n {
		t.Fatalf("with its only key disabled: status %d, provider calls %d → %d: %s", r.status, n, len(e.oa.Requests()), r.body)
	}
}
