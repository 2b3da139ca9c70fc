package aitest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

const chatBody = `{"model":"%s","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"temperature":0.5,"max_tokens":50}`

const messagesBody = `{"model":"%s","max_tokens":50,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}`

func body(tmpl, model string) string { return strings.Replace(tmpl, "%s", model, 1) }

// An OpenAI client on an OpenAI provider: the body goes through as the
// client wrote it (unknown fields too), with only the model replaced; the
// answer comes back byte for byte. The provider gets the gateway's key,
// never the client's.
func TestOpenAIToOpenAIJSON(t *testing.T) {
	e := start(t, defaultModels)
	r := e.chat(t, `{"model":"gpt","messages":[{"role":"user","content":"Hi"}],"x_unknown":{"keep":true}}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := providertest.OpenAIChat("gpt-4o-2024-08-06", strings.Join(providertest.DefaultPieces, ""), providertest.DefaultUsage)
	if string(r.body) != string(want) {
		t.Fatalf("answer\n got %s\nwant %s", r.body, want)
	}
	got := e.oa.WaitHandled(t, 5e9)
	if got.Key != providerKeyA {
		t.Fatalf("provider got key %q, want the configured one", got.Key)
	}
	if strings.Contains(string(got.Body), clientKey) || got.Header.Get("X-Api-Key") != "" {
		t.Fatalf("the client's key reached the provider: %v %s", got.Header, got.Body)
	}
	var sent map[string]any
	got.JSON(t, &sent)
	if sent["model"] != "gpt-4o-2024-08-06" || sent["x_unknown"] == nil {
		t.Fatalf("provider got %s, want the client's body with the model replaced", got.Body)
	}
}

// An OpenAI client on an Anthropic model: the request is translated to
// the Messages API (system hoisted, max_tokens), the answer back to a
// chat completion with the client's model name and OpenAI's usage.
func TestOpenAIToAnthropicJSON(t *testing.T) {
	e := start(t, defaultModels)
	r := e.chat(t, body(chatBody, "gpt-via-claude"))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	if m["object"] != "chat.completion" || m["model"] != "gpt-via-claude" {
		t.Fatalf("answer is not a chat completion for the client's model: %s", r.body)
	}
	if got := field(t, m, "choices", "0", "message", "content"); got != strings.Join(providertest.DefaultPieces, "") {
		t.Fatalf("content %q", got)
	}
	if field(t, m, "choices", "0", "finish_reason") != "stop" {
		t.Fatalf("finish_reason: %s", r.body)
	}
	u := field(t, m, "usage").(map[string]any)
	if u["prompt_tokens"] != 12.0 || u["completion_tokens"] != 5.0 || u["total_tokens"] != 17.0 {
		t.Fatalf("usage %v, want 12 + 5 = 17", u)
	}
	got := e.an.WaitHandled(t, 5e9)
	if got.Path != "/v1/messages" || got.Key != providerKeyA || got.Header.Get("anthropic-version") == "" {
		t.Fatalf("provider request %s key %q headers %v", got.Path, got.Key, got.Header)
	}
	var sent map[string]any
	got.JSON(t, &sent)
	if sent["model"] != "claude-haiku-4-5" || sent["system"] != "Be brief." || sent["max_tokens"] != 50.0 {
		t.Fatalf("provider got %s", got.Body)
	}
}

// An Anthropic client on an OpenAI model: the reverse.
func TestAnthropicToOpenAIJSON(t *testing.T) {
	e := start(t, defaultModels)
	r := e.messages(t, body(messagesBody, "claude-via-gpt"))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	if m["type"] != "message" || m["role"] != "assistant" || m["model"] != "claude-via-gpt" || m["stop_reason"] != "end_turn" {
		t.Fatalf("answer is not an Anthropic message: %s", r.body)
	}
	if field(t, m, "content", "0", "text") != strings.Join(providertest.DefaultPieces, "") {
		t.Fatalf("content: %s", r.body)
	}
	if field(t, m, "usage", "input_tokens") != 12.0 || field(t, m, "usage", "output_tokens") != 5.0 {
		t.Fatalf("usage: %s", r.body)
	}
	got := e.oa.WaitHandled(t, 5e9)
	var sent map[string]any
	got.JSON(t, &sent)
	if got.Path != "/v1/chat/completions" || sent["model"] != "gpt-4o-mini" {
		t.Fatalf("provider got %s %s", got.Path, got.Body)
	}
	if msgs := sent["messages"].([]any); len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" {
		t.Fatalf("system prompt not first: %s", got.Body)
	}
}

// An Anthropic client on an Anthropic model: pass-through, with the
// client's anthropic-version and anthropic-beta.
func TestAnthropicToAnthropicJSON(t *testing.T) {
	e := start(t, defaultModels)
	h := anthropicHeaders(clientKey)
	h["anthropic-beta"] = "prompt-caching-2024-07-31"
	r := e.do(t, "POST", "/v1/messages", h, body(messagesBody, "claude-sonnet"))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := providertest.AnthropicMessage("claude-sonnet-4-5", strings.Join(providertest.DefaultPieces, ""), providertest.DefaultUsage)
	if string(r.body) != string(want) {
		t.Fatalf("answer\n got %s\nwant %s", r.body, want)
	}
	got := e.an.WaitHandled(t, 5e9)
	if got.Header.Get("anthropic-beta") != "prompt-caching-2024-07-31" || got.Header.Get("anthropic-version") != "2023-06-01" {
		t.Fatalf("provider headers %v", got.Header)
	}
}

// Tools: an OpenAI client's tools and tool_choice reach Anthropic as its
// tools; the tool_use answer comes back as tool_calls; and the reverse.
func TestToolsBothWays(t *testing.T) {
	e := start(t, defaultModels)
	calls := []providertest.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}
	e.an.Enqueue(providertest.Reply{Body: providertest.AnthropicMessageTools("claude-haiku-4-5", calls, providertest.DefaultUsage)})
	r := e.chat(t, `{"model":"gpt-via-claude","messages":[{"role":"user","content":"Weather in Paris?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
		"tool_choice":"required"}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	tc := field(t, m, "choices", "0", "message", "tool_calls", "0").(map[string]any)
	if tc["id"] != "call_1" || field(t, tc, "function", "name") != "get_weather" || field(t, tc, "function", "arguments") != `{"city":"Paris"}` {
		t.Fatalf("tool call %v", tc)
	}
	if field(t, m, "choices", "0", "finish_reason") != "tool_calls" {
		t.Fatalf("finish_reason: %s", r.body)
	}
	var sent map[string]any
	e.an.WaitHandled(t, 5e9).JSON(t, &sent)
	if field(t, sent, "tools", "0", "name") != "get_weather" || field(t, sent, "tool_choice", "type") != "any" {
		t.Fatalf("provider got %v", sent)
	}

	e.oa.Enqueue(providertest.Reply{Body: providertest.OpenAIChatTools("gpt-4o-mini", calls, providertest.DefaultUsage)})
	r = e.messages(t, `{"model":"claude-via-gpt","max_tokens":100,"messages":[{"role":"user","content":"Weather in Paris?"}],
		"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"get_weather"}}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m = r.json(t)
	block := field(t, m, "content", "0").(map[string]any)
	if block["type"] != "tool_use" || block["id"] != "call_1" || block["name"] != "get_weather" || field(t, block, "input", "city") != "Paris" {
		t.Fatalf("tool_use block %v", block)
	}
	if m["stop_reason"] != "tool_use" {
		t.Fatalf("stop_reason: %s", r.body)
	}
	e.oa.WaitHandled(t, 5e9).JSON(t, &sent)
	if field(t, sent, "tool_choice", "function", "name") != "get_weather" {
		t.Fatalf("provider got %v", sent)
	}
}

// Embeddings go through to an OpenAI-shaped provider; an Anthropic-only
// model has none.
func TestEmbeddings(t *testing.T) {
	e := start(t, defaultModels)
	r := e.do(t, "POST", "/v1/embeddings", openaiHeaders(clientKey), `{"model":"gpt-4o","input":["a","b"]}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var emb struct {
		Data []json.RawMessage `json:"data"`
	}
	if json.Unmarshal(r.body, &emb) != nil || len(emb.Data) != 2 {
		t.Fatalf("embeddings %s", r.body)
	}
	if got := e.oa.WaitHandled(t, 5e9); got.Path != "/v1/embeddings" {
		t.Fatalf("provider path %s", got.Path)
	}
	r = e.do(t, "POST", "/v1/embeddings", openaiHeaders(clientKey), `{"model":"claude-sonnet","input":"a"}`)
	if r.status != 400 || field(t, r.json(t), "error", "type") != "invalid_request_error" {
		t.Fatalf("embeddings of an Anthropic model: %d %s", r.status, r.body)
	}
}

// GET /v1/models lists the route's model names and aliases, in OpenAI's
// shape, or in Anthropic's for a request with anthropic-version.
func TestModelsList(t *testing.T) {
	e := start(t, defaultModels)
	r := e.do(t, "GET", "/v1/models", openaiHeaders(clientKey), "")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || list.Object != "list" {
		t.Fatalf("list %s", r.body)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
		if m.OwnedBy == "" {
			t.Fatalf("model %s has no owner: %s", m.ID, r.body)
		}
	}
	if strings.Join(ids, ",") != "gpt-4o,gpt,claude-sonnet,gpt-via-claude,claude-via-gpt" {
		t.Fatalf("models %v", ids)
	}
	r = e.do(t, "GET", "/v1/models", anthropicHeaders(clientKey), "")
	m := r.json(t)
	if r.status != 200 || field(t, m, "data", "0", "type") != "model" || m["has_more"] != false {
		t.Fatalf("anthropic list %d %s", r.status, r.body)
	}
}
