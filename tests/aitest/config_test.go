package aitest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

// conf/ai-gateway.toml, the example the docs point to, is valid and
// works: with its provider URLs pointed at the mocks and its keys from
// the environment, both SDK shapes get answers, and the guard script it
// names is loaded.
func TestExampleConfig(t *testing.T) {
	src, err := os.ReadFile("../../conf/ai-gateway.toml")
	if err != nil {
		t.Fatal(err)
	}
	oa := providertest.New(t, providertest.OpenAI, providerKeyA)
	an := providertest.New(t, providertest.Anthropic, providerKeyB)
	ollama := providertest.New(t, providertest.OpenAI, "") // no key
	script, _ := filepath.Abs("../../scripts/ai_guard.lua")
	cfg := string(src)
	for _, r := range [][2]string{
		{`"0.0.0.0:8080"`, `"127.0.0.1:0"`},
		{`"127.0.0.1:9080"`, `"127.0.0.1:0"`},
		{`"https://api.openai.com/v1"`, `"` + oa.URL + `/v1"`},
		{`"https://api.anthropic.com"`, `"` + an.URL + `"`},
		{`"http://127.0.0.1:11434/v1"`, `"` + ollama.URL + `/v1"`},
		{`"scripts/ai_guard.lua"`, `"` + script + `"`},
	} {
		if !strings.Contains(cfg, r[0]) {
			t.Fatalf("conf/ai-gateway.toml no longer has %s: update this test", r[0])
		}
		cfg = strings.ReplaceAll(cfg, r[0], r[1])
	}
	t.Setenv("OPENAI_API_KEY", providerKeyA)
	t.Setenv("ANTHROPIC_API_KEY", providerKeyB)
	t.Setenv("TEAM_A_KEY", clientKey)
	t.Setenv("TEAM_B_KEY", "team-b-key-0123456789")
	e := &env{oa: oa, an: an, gw: gatewaytest.Start(t, cfg)}

	if r := e.chat(t, body(chatBody, "gpt-4o")); r.status != 200 || r.json(t)["object"] != "chat.completion" {
		t.Fatalf("gpt-4o: %d %s", r.status, r.body)
	}
	if r := e.messages(t, body(messagesBody, "claude")); r.status != 200 || r.json(t)["type"] != "message" {
		t.Fatalf("claude: %d %s", r.status, r.body)
	}
	if r := e.chat(t, body(chatBody, "llama3.2")); r.status != 200 || ollama.WaitHandled(t, 5e9).Key != "" {
		t.Fatalf("llama: %d %s", r.status, r.body)
	}
	if r := e.chat(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"-----BEGIN RSA PRIVATE KEY----- abc"}]}`); r.status != 400 {
		t.Fatalf("the guard script did not refuse: %d %s", r.status, r.body)
	}
	if r := e.do(t, "POST", "/v1/chat/completions", openaiHeaders("wrong"), body(chatBody, "gpt-4o")); r.status != 401 ||
		field(t, r.json(t), "error", "code") != "invalid_api_key" {
		t.Fatalf("wrong key: %d %s", r.status, r.body)
	}
}
