package aitest

import (
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

// An azure-openai provider: the deployment in the path (from deployments,
// or the model's own name), api-version in the query, the key in api-key
// and never as a bearer token; chat (JSON, and streamed to an Anthropic
// client) and embeddings.
func TestAzureOpenAIProvider(t *testing.T) {
	az := providertest.New(t, providertest.OpenAI, providerKeyA)
	e := start(t, `
    [[routes.plugins.config.providers]]
    name = "az"
    type = "azure-openai"
    base_url = "`+az.URL+`/"
    keys = ["`+providerKeyA+`"]
    api_version = "2024-10-21"
    deployments = { "gpt-4o" = "gpt4o-prod" }

    [[routes.plugins.config.models]]
    name = "azure-gpt"
    targets = [{ provider = "az", model = "gpt-4o" }]

    [[routes.plugins.config.models]]
    name = "azure-mini"
    targets = [{ provider = "az", model = "gpt-4o-mini" }]
`)
	for _, tc := range []struct {
		name, path, body, wantPath string
		headers                    map[string]string
	}{
		{"chat", "/v1/chat/completions", body(chatBody, "azure-gpt"), "/openai/deployments/gpt4o-prod/chat/completions", openaiHeaders(clientKey)},
		{"stream to an Anthropic client", "/v1/messages", body(streamMessages, "azure-gpt"), "/openai/deployments/gpt4o-prod/chat/completions", anthropicHeaders(clientKey)},
		{"model without a deployment entry", "/v1/chat/completions", body(chatBody, "azure-mini"), "/openai/deployments/gpt-4o-mini/chat/completions", openaiHeaders(clientKey)},
		{"embeddings", "/v1/embeddings", `{"model":"azure-gpt","input":"a"}`, "/openai/deployments/gpt4o-prod/embeddings", openaiHeaders(clientKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", tc.path, tc.headers, tc.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			switch tc.name {
			case "stream to an Anthropic client":
				if text, types, _, out := anthropicText(t, events(t, r.body)); text != allText || types[len(types)-1] != "message_stop" || out != 5 {
					t.Fatalf("stream %s", r.body)
				}
			case "embeddings":
				if !strings.Contains(string(r.body), `"embedding"`) {
					t.Fatalf("embeddings %s", r.body)
				}
			default:
				if got := field(t, r.json(t), "choices", "0", "message", "content"); got != allText {
					t.Fatalf("content %q: %s", got, r.body)
				}
			}
			got := az.WaitHandled(t, 5*time.Second)
			if got.Path != tc.wantPath || got.RawQuery != "api-version=2024-10-21" {
				t.Fatalf("provider got %s?%s, want %s?api-version=2024-10-21", got.Path, got.RawQuery, tc.wantPath)
			}
			if got.Header.Get("api-key") != providerKeyA || got.Header.Get("Authorization") != "" {
				t.Fatalf("provider auth headers: api-key %q, Authorization %q", got.Header.Get("api-key"), got.Header.Get("Authorization"))
			}
		})
	}
}

// An openai-compatible server without keys (Ollama, vLLM): the base URL
// as its SDK takes it, no authentication header at all.
func TestOpenAICompatibleWithoutKeys(t *testing.T) {
	local := providertest.New(t, providertest.OpenAI, "") // accepts requests without a key
	e := start(t, `
    [[routes.plugins.config.providers]]
    name = "ollama"
    type = "openai-compatible"
    base_url = "`+local.URL+`/v1"

    [[routes.plugins.config.models]]
    name = "llama*"
    targets = [{ provider = "ollama" }]
`)
	r := e.chat(t, body(streamChatUsage, "llama3.2:3b"))
	text, usages, done := openAIText(t, events(t, r.body))
	if r.status != 200 || text != allText || len(usages) != 1 || !done {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	got := local.WaitHandled(t, 5*time.Second)
	var sent map[string]any
	got.JSON(t, &sent)
	if got.Path != "/v1/chat/completions" || got.Header.Get("Authorization") != "" || got.Header.Get("api-key") != "" || sent["model"] != "llama3.2:3b" {
		t.Fatalf("provider got %s %v %s", got.Path, got.Header, got.Body)
	}
}

// idle_timeout bounds the silence between two events of a stream: a
// provider that stops sending after the first event ends the client's
// stream with the API's stream error, and the gateway closes the
// provider's connection. The fallback is not called: the client has
// events already. (The timeout is the mechanism under test; nothing is
// measured.)
func TestIdleTimeoutEndsStream(t *testing.T) {
	for _, model := range []string{"primary", "primary-via-claude"} {
		t.Run(model, func(t *testing.T) {
			e := startWith(t, func(oa, an *providertest.Server) string {
				p := providersTOML(oa, an, []string{providerKeyA}, []string{providerKeyA})
				return authTOML + routeTOML + strings.ReplaceAll(p, `idle_timeout = "5s"`, `idle_timeout = "300ms"`) + `
    [[routes.plugins.config.models]]
    name = "primary"
    targets = [{ provider = "oa", model = "gpt-4o" }]
    fallback = [{ provider = "an", model = "claude-haiku-4-5" }]

    [[routes.plugins.config.models]]
    name = "primary-via-claude"
    targets = [{ provider = "an", model = "claude-haiku-4-5" }]
    fallback = [{ provider = "oa", model = "gpt-4o" }]
`
			})
			mock, other := e.oa, e.an
			evs := providertest.OpenAIStream("gpt-4o", providertest.DefaultPieces, &providertest.DefaultUsage)
			if model == "primary-via-claude" {
				mock, other = e.an, e.oa
				evs = providertest.AnthropicStream("claude-haiku-4-5", providertest.DefaultPieces, providertest.DefaultUsage)
			}
			// A gate nobody opens: the first event, then silence.
			mock.Enqueue(providertest.Reply{Events: evs, Gate: make(chan struct{})})
			r := e.chat(t, body(streamChatUsage, model))
			got := events(t, r.body)
			if r.status != 200 || len(got) < 2 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			last := got[len(got)-1]
			if !strings.Contains(last.data, `"error"`) || strings.Contains(string(r.body), "[DONE]") {
				t.Fatalf("the stream did not end with an error event: %s", r.body)
			}
			if model == "primary" && !strings.Contains(last.data, "idle timeout") {
				t.Fatalf("error event %s", last.data)
			}
			if h := mock.WaitHandled(t, 5*time.Second); !h.Canceled {
				t.Fatal("the provider's connection stayed open")
			}
			if n := len(other.Requests()); n != 0 {
				t.Fatalf("the fallback was called %d times after events reached the client", n)
			}
		})
	}
}

// first_byte_timeout covers a stream's first event: a provider that
// answers its headers and then nothing has sent the client nothing yet,
// so the fallback answers.
func TestFirstEventTimeoutFallsBack(t *testing.T) {
	e := startWith(t, func(oa, an *providertest.Server) string {
		p := providersTOML(oa, an, []string{providerKeyA}, []string{providerKeyA})
		return authTOML + routeTOML + strings.ReplaceAll(p, `first_byte_timeout = "5s"`, `first_byte_timeout = "300ms"`) + fallbackModels("oa")
	})
	e.oa.Enqueue(providertest.Reply{Events: [][]byte{}, Hang: true})
	r := e.chat(t, body(streamChatUsage, "primary"))
	text, usages, done := openAIText(t, events(t, r.body))
	if r.status != 200 || text != allText || len(usages) != 1 || !done {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if len(e.an.Requests()) != 1 {
		t.Fatal("the fallback was not called")
	}
}

// A provider's media type is compared without case (RFC 9110 §8.3.1):
// "Text/Event-Stream; charset=utf-8" is a stream.
func TestStreamMediaTypeAnyCase(t *testing.T) {
	e := start(t, defaultModels)
	e.oa.Enqueue(providertest.Reply{
		Events: providertest.OpenAIStream("gpt-4o-2024-08-06", providertest.DefaultPieces, &providertest.DefaultUsage),
		Header: map[string]string{"Content-Type": "Text/Event-Stream; charset=utf-8"},
	})
	r := e.chat(t, body(streamChatUsage, "gpt-4o"))
	if text, _, done := openAIText(t, events(t, r.body)); r.status != 200 || text != allText || !done {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
}
