package aitest

import (
	"bytes"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/plugins/aiproxy"
	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

// Token budgets: a request passes while its consumer's budget is not
// spent, and is charged with its real usage after the answer (17 tokens
// per answer of the mocks). Refusals are 429 in the client's shape.
func TestTokenLimits(t *testing.T) {
	e := start(t, defaultModels+`
    [routes.plugins.config.limits]
    tokens_per_minute = 20
`)
	// alice: 1 + 16 = 17 after the first answer; the second passes the
	// check (18 <= 20) and fills the budget; the third is refused.
	for i := 0; i < 2; i++ {
		if r := e.chat(t, body(chatBody, "gpt-4o")); r.status != 200 {
			t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
		}
	}
	n := len(e.oa.Requests())
	r := e.chat(t, body(chatBody, "gpt-4o"))
	if r.status != 429 || field(t, r.json(t), "error", "code") != "rate_limit_exceeded" {
		t.Fatalf("over budget: status %d: %s", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 64 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	r = e.messages(t, body(messagesBody, "claude-sonnet"))
	if r.status != 429 || field(t, r.json(t), "error", "type") != "rate_limit_error" {
		t.Fatalf("over budget, Anthropic client: status %d: %s", r.status, r.body)
	}
	if len(e.oa.Requests()) != n || len(e.an.Requests()) != 0 {
		t.Fatal("a request over budget reached a provider")
	}

	// bob has his own budget; a stream is charged with its usage too, at
	// its end.
	bob := openaiHeaders("client-key-bob-0123456789")
	for i, b := range []string{body(streamChatUsage, "gpt-4o"), body(chatBody, "gpt-via-claude")} {
		if r := e.do(t, "POST", "/v1/chat/completions", bob, b); r.status != 200 {
			t.Fatalf("bob %d: status %d: %s", i, r.status, r.body)
		}
	}
	if r := e.do(t, "POST", "/v1/chat/completions", bob, body(chatBody, "gpt-4o")); r.status != 429 {
		t.Fatalf("bob over budget: status %d: %s", r.status, r.body)
	}
}

// The prompt cache: the same request at temperature 0 is answered from
// the cache (X-AI-Cache: HIT) without calling the provider, byte for
// byte, a stream as a stream; each consumer has its own entries; a
// request at another temperature is not cached.
func TestPromptCache(t *testing.T) {
	e := start(t, defaultModels+`
    [routes.plugins.config.cache]
    enabled = true
    ttl = "1m"
`)
	req := `{"model":"gpt-via-claude","temperature":0,"user":"u1","messages":[{"role":"user","content":"Hi"}]}`
	first := e.chat(t, req)
	if first.status != 200 || first.header.Get("X-AI-Cache") != "MISS" {
		t.Fatalf("first: %d %q: %s", first.status, first.header.Get("X-AI-Cache"), first.body)
	}
	// The key ignores members that do not change the answer (user) and
	// the order of the members.
	again := e.chat(t, `{"temperature":0,"messages":[{"role":"user","content":"Hi"}],"user":"u2","model":"gpt-via-claude"}`)
	if again.status != 200 || again.header.Get("X-AI-Cache") != "HIT" || !bytes.Equal(again.body, first.body) {
		t.Fatalf("second: %d %q: %s", again.status, again.header.Get("X-AI-Cache"), again.body)
	}
	if n := len(e.an.Requests()); n != 1 {
		t.Fatalf("provider called %d times, want 1", n)
	}
	bob := e.do(t, "POST", "/v1/chat/completions", openaiHeaders("client-key-bob-0123456789"), req)
	if bob.header.Get("X-AI-Cache") != "MISS" {
		t.Fatalf("another consumer got %q: entries are per consumer", bob.header.Get("X-AI-Cache"))
	}
	warm := strings.Replace(req, `"temperature":0`, `"temperature":0.7`, 1)
	for i := 0; i < 2; i++ {
		if r := e.chat(t, warm); r.header.Get("X-AI-Cache") != "BYPASS" {
			t.Fatalf("temperature 0.7: %q", r.header.Get("X-AI-Cache"))
		}
	}

	// A stream is replayed as the same stream.
	sreq := `{"model":"claude-sonnet","max_tokens":50,"temperature":0,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`
	s1 := e.messages(t, sreq)
	s2 := e.messages(t, sreq)
	if s1.header.Get("X-AI-Cache") != "MISS" || s2.header.Get("X-AI-Cache") != "HIT" || !bytes.Equal(s1.body, s2.body) ||
		!strings.HasPrefix(s2.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %q then %q %q\n%s\n%s", s1.header.Get("X-AI-Cache"), s2.header.Get("X-AI-Cache"),
			s2.header.Get("Content-Type"), s1.body, s2.body)
	}
	if text, types, _, _ := anthropicText(t, events(t, s2.body)); text != allText || types[len(types)-1] != "message_stop" {
		t.Fatalf("replayed stream %s", s2.body)
	}
	// A stream cut before its end is not stored.
	cut := `{"model":"claude-sonnet","max_tokens":51,"temperature":0,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`
	e.an.Enqueue(providertest.Reply{Events: providertest.AnthropicStream("claude-sonnet-4-5", providertest.DefaultPieces, providertest.DefaultUsage), EndEarly: 3})
	e.messages(t, cut)
	if r := e.messages(t, cut); r.header.Get("X-AI-Cache") != "MISS" {
		t.Fatalf("a cut stream was cached: %q", r.header.Get("X-AI-Cache"))
	}
}

// A client that goes away in the middle of a stream cancels the
// provider's request: the gateway's next write to the client fails, and
// the gateway closes the provider connection, which the mock sees
// (Handled, Canceled). The client is a raw socket, so that it is gone
// (reset) when the test goes on; the provider holds the rest of its
// answer until then (Gate), then sends 200 more events and waits (Hang)
// until its client leaves. A gateway that did not cancel would read the
// 200 events and wait with the provider for its idle_timeout (60s here),
// far past the test's deadline. The route has a log step: the log phase,
// which a stream holds until its end, runs for the abandoned stream too.
func TestClientDisconnectCancelsProvider(t *testing.T) {
	pieces := make([]string, 200)
	for i := range pieces {
		pieces[i] = "piece " + strconv.Itoa(i) + " "
	}
	for _, model := range []string{"gpt-4o", "gpt-via-claude"} {
		t.Run(model, func(t *testing.T) {
			e := startWith(t, func(oa, an *providertest.Server) string {
				p := providersTOML(oa, an, []string{providerKeyA}, []string{providerKeyA})
				return authTOML + "[[plugins]]\nname = \"test-ai-log\"\n" + routeTOML +
					strings.ReplaceAll(p, `idle_timeout = "5s"`, `idle_timeout = "60s"`) + defaultModels
			})
			for len(logged) > 0 {
				<-logged
			}
			gate := make(chan struct{})
			mock := e.oa
			evs := providertest.OpenAIStream("gpt-4o", pieces, &providertest.DefaultUsage)
			if model == "gpt-via-claude" {
				mock = e.an
				evs = providertest.AnthropicStream("claude-haiku-4-5", pieces, providertest.DefaultUsage)
			}
			// The end of the stream never comes: the provider is still
			// answering when the client leaves.
			mock.Enqueue(providertest.Reply{Events: evs[:len(evs)-2], Gate: gate, Hang: true})

			conn, br := rawRequest(t, e, "POST", "/v1/chat/completions", openaiHeaders(clientKey), body(streamChatUsage, model))
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("no first event: %v", err)
				}
				if strings.HasPrefix(line, "data:") {
					break
				}
			}
			// The client goes away: a reset, at once.
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			close(gate)
			select {
			case h := <-mock.Handled():
				if !h.Canceled {
					t.Fatal("the provider's answer was written in full")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the provider request was not canceled")
			}
			if m := nextLogged(t); m[aiproxy.ValueModel] != model || m[aiproxy.ValueStream] != true {
				t.Fatalf("log phase of the abandoned stream: %v", m)
			}
		})
	}
}

// The admin API's token counters, by route, consumer, model and provider,
// with the estimated cost from the price table.
func TestUsageCounters(t *testing.T) {
	e := startWith(t, func(oa, an *providertest.Server) string {
		return authTOML + strings.Replace(routeTOML, `name = "ai"`, `name = "usage-route"`, 1) +
			providersTOML(oa, an, []string{providerKeyA}, []string{providerKeyA}) + defaultModels + `
    [routes.plugins.config.prices]
    "gpt-4o-2024-08-06" = { input = 2.5, output = 10.0 }
`
	})
	for i := 0; i < 2; i++ {
		e.chat(t, body(chatBody, "gpt"))
	}
	e.chat(t, body(streamChatUsage, "gpt-4o"))
	e.messages(t, body(messagesBody, "gpt-via-claude"))
	var out struct {
		Usage []struct {
			Route, Consumer, Model, Provider string
			Requests                         int
			PromptTokens                     int     `json:"prompt_tokens"`
			CompletionTokens                 int     `json:"completion_tokens"`
			TotalTokens                      int     `json:"total_tokens"`
			CostUSD                          float64 `json:"cost_usd"`
		} `json:"usage"`
	}
	b := e.adminGet(t, "/ai/usage")
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, u := range out.Usage {
		if u.Route != "usage-route" {
			continue
		}
		found++
		switch u.Model {
		case "gpt-4o":
			if u.Consumer != "alice" || u.Provider != "oa" || u.Requests != 3 || u.PromptTokens != 36 || u.CompletionTokens != 15 || u.TotalTokens != 51 {
				t.Fatalf("gpt-4o counters %+v", u)
			}
			if want := 3 * (12*2.5 + 5*10.0) / 1e6; u.CostUSD < want*0.999 || u.CostUSD > want*1.001 {
				t.Fatalf("cost %v, want %v", u.CostUSD, want)
			}
		case "gpt-via-claude":
			if u.Provider != "an" || u.Requests != 1 || u.TotalTokens != 17 || u.CostUSD != 0 {
				t.Fatalf("gpt-via-claude counters %+v", u)
			}
		default:
			t.Fatalf("unexpected row %+v", u)
		}
	}
	if found != 2 {
		t.Fatalf("%d rows for the route: %s", found, b)
	}
}
