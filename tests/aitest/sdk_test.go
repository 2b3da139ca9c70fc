package aitest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

// sdkScript runs the official SDKs against the gateway and prints one
// JSON line per check. Each SDK uses the other provider, so every answer
// is translated.
const sdkScript = `
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";

const [base, key] = process.argv.slice(2);
const out = (name, v) => console.log(JSON.stringify({ name, ...v }));

// Retries: each provider fails the first request it gets (the test
// queues a 5xx); the SDKs retry the gateway's 5xx on their own.
const oaRetry = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 2 });
const rc = await oaRetry.chat.completions.create({ model: "gpt-via-claude", messages: [{ role: "user", content: "Hi" }] });
out("openai-retry", { text: rc.choices[0].message.content });
const anRetry = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 2 });
const rm = await anRetry.messages.create({ model: "claude-via-gpt", max_tokens: 50, messages: [{ role: "user", content: "Hi" }] });
out("anthropic-retry", { text: rm.content[0].text });

const oa = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0 });
const c = await oa.chat.completions.create({ model: "gpt-via-claude", messages: [{ role: "user", content: "Hi" }] });
out("openai-json", { text: c.choices[0].message.content, model: c.model, total: c.usage.total_tokens });

const s = await oa.chat.completions.create({ model: "gpt-via-claude", stream: true, stream_options: { include_usage: true },
  messages: [{ role: "user", content: "Hi" }] });
let text = "", usages = 0, total = 0;
for await (const ch of s) {
  if (ch.choices.length > 0 && ch.choices[0].delta.content) text += ch.choices[0].delta.content;
  if (ch.usage) { usages++; total = ch.usage.total_tokens; }
}
out("openai-stream", { text, usages, total });

try {
  await new OpenAI({ baseURL: base + "/v1", apiKey: "wrong-key", maxRetries: 0 }).chat.completions.create(
    { model: "gpt-via-claude", messages: [{ role: "user", content: "Hi" }] });
  out("openai-401", { error: "none" });
} catch (e) {
  out("openai-401", { error: e.constructor.name, status: e.status, auth: e instanceof OpenAI.AuthenticationError });
}

const an = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0 });
const m = await an.messages.create({ model: "claude-via-gpt", max_tokens: 50, messages: [{ role: "user", content: "Hi" }] });
out("anthropic-json", { text: m.content[0].text, model: m.model, input: m.usage.input_tokens, output: m.usage.output_tokens });

const ms = an.messages.stream({ model: "claude-via-gpt", max_tokens: 50, messages: [{ role: "user", content: "Hi" }] });
let stext = "";
ms.on("text", (t) => { stext += t; });
const fm = await ms.finalMessage();
out("anthropic-stream", { text: stext, stop: fm.stop_reason, input: fm.usage.input_tokens, output: fm.usage.output_tokens });

try {
  await new Anthropic({ baseURL: base, apiKey: "wrong-key", maxRetries: 0 }).messages.create(
    { model: "claude-via-gpt", max_tokens: 50, messages: [{ role: "user", content: "Hi" }] });
  out("anthropic-401", { error: "none" });
} catch (e) {
  out("anthropic-401", { error: e.constructor.name, status: e.status, auth: e instanceof Anthropic.AuthenticationError });
}
`

// The official npm SDKs, unchanged, pointed at the gateway with a base
// URL and a consumer key: JSON, streams with usage, the SDKs' own
// retries of a 5xx, and a wrong key as the SDK's AuthenticationError. The SDKs are installed by the test into
// a temporary folder; the test is skipped when npm is missing (or cannot
// install them: no network).
func TestOfficialSDKs(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages; not in -short")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed: the official SDK test needs Node.js and npm")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"moongate-sdk-test","private":true,"type":"module"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "openai@^5", "@anthropic-ai/sdk@^0")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("could not install the SDKs (npm install openai @anthropic-ai/sdk): %v\n%s", err, out)
	}
	for _, pkg := range []string{"openai", "@anthropic-ai/sdk"} {
		var v struct{ Version string }
		b, _ := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
		json.Unmarshal(b, &v)
		t.Logf("%s %s", pkg, v.Version)
	}
	if err := os.WriteFile(filepath.Join(dir, "check.mjs"), []byte(sdkScript), 0o600); err != nil {
		t.Fatal(err)
	}

	e := start(t, defaultModels)
	e.an.Enqueue(providertest.AnthropicError(529, "overloaded_error", "Overloaded"))
	e.oa.Enqueue(providertest.OpenAIError(500, "server_error", "", "The server had an error while processing your request."))
	run := exec.CommandContext(ctx, node, "check.mjs", e.gw.URL, clientKey)
	run.Dir = dir
	var stderr bytes.Buffer
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr.String())
	}
	got := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("output %q: %v", line, err)
		}
		got[m["name"].(string)] = m
	}
	want := map[string]map[string]any{
		"openai-retry":     {"text": allText},
		"anthropic-retry":  {"text": allText},
		"openai-json":      {"text": allText, "model": "gpt-via-claude", "total": 17.0},
		"openai-stream":    {"text": allText, "usages": 1.0, "total": 17.0},
		"openai-401":       {"status": 401.0, "auth": true},
		"anthropic-json":   {"text": allText, "model": "claude-via-gpt", "input": 12.0, "output": 5.0},
		"anthropic-stream": {"text": allText, "stop": "end_turn", "input": 12.0, "output": 5.0},
		"anthropic-401":    {"status": 401.0, "auth": true},
	}
	// The failed first calls, then the retries, then the checks below
	// (two calls to each provider: JSON and stream).
	if n, m := len(e.an.Requests()), len(e.oa.Requests()); n != 4 || m != 4 {
		t.Errorf("provider calls: anthropic %d, openai %d; want 4 each (a failure, its retry, JSON, stream)", n, m)
	}
	for name, fields := range want {
		for k, v := range fields {
			if got[name][k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", name, k, got[name][k], v, got[name])
			}
		}
	}
}
