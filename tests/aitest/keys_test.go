package aitest

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/plugins/aiproxy/providertest"
)

// twoKeys is the configuration with two keys per provider, A then B.
func twoKeys(extra string) func(oa, an *providertest.Server) string {
	return func(oa, an *providertest.Server) string {
		return authTOML + routeTOML +
			providersTOML(oa, an, []string{providerKeyA, providerKeyB}, []string{providerKeyA, providerKeyB}) +
			defaultModels + extra
	}
}

// keyStates returns the state of each key of provider name, from the
// admin API.
func keyStates(t *testing.T, e *env, name string) []map[string]any {
	t.Helper()
	var out struct {
		Steps []struct {
			Providers []struct {
				Name string           `json:"name"`
				Keys []map[string]any `json:"keys"`
			} `json:"providers"`
		} `json:"steps"`
	}
	b := e.adminGet(t, "/ai/keys")
	noProviderKey(t, "GET /ai/keys", b)
	if err := json.Unmarshal(b, &out); err != nil || len(out.Steps) != 1 {
		t.Fatalf("GET /ai/keys: %s", b)
	}
	for _, p := range out.Steps[0].Providers {
		if p.Name == name {
			return p.Keys
		}
	}
	t.Fatalf("no provider %s: %s", name, b)
	return nil
}

// A key the provider answers 429 rests until the provider's reset time:
// the request is sent again with the next key at once, and the following
// requests use only the other key until then.
func TestKeyPool429RestsKey(t *testing.T) {
	for _, kind := range []providertest.Kind{providertest.OpenAI, providertest.Anthropic} {
		t.Run(kind.String(), func(t *testing.T) {
			e := startWith(t, twoKeys(""))
			mock, model := e.oa, "gpt-4o"
			if kind == providertest.Anthropic {
				mock, model = e.an, "claude-sonnet"
			}
			mock.Enqueue(providertest.RateLimited(kind, 90*time.Second, time.Now()))
			r := e.chat(t, body(chatBody, model))
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			reqs := mock.Requests()
			if len(reqs) != 2 || reqs[0].Key == reqs[1].Key {
				t.Fatalf("provider saw %d requests; want the 429 then the other key", len(reqs))
			}
			rested := reqs[0].Key
			for i := 0; i < 4; i++ {
				if r := e.chat(t, body(chatBody, model)); r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
			}
			for _, rq := range mock.Requests()[2:] {
				if rq.Key == rested {
					t.Fatal("a resting key was used before its reset time")
				}
			}
			states := keyStates(t, e, map[providertest.Kind]string{providertest.OpenAI: "oa", providertest.Anthropic: "an"}[kind])
			restedIndex := 0
			if rested == providerKeyB {
				restedIndex = 1
			}
			st := states[restedIndex]
			until, _ := time.Parse(time.RFC3339Nano, st["resting_until"].(string))
			if st["state"] != "resting" || time.Until(until) < 60*time.Second || st["rate_limited"] != 1.0 {
				t.Fatalf("rested key state %v, want resting for about 90s", st)
			}
			if states[1-restedIndex]["state"] != "active" {
				t.Fatalf("other key %v", states[1-restedIndex])
			}
		})
	}
}

// A key the provider refuses (401) is disabled and reported; the request
// goes on with the next key, and later requests never use it again.
func TestKeyPool401DisablesKey(t *testing.T) {
	bad := "sk-revoked-key-DDDDDDDDDDDD"
	e := startWith(t, func(oa, an *providertest.Server) string {
		return authTOML + routeTOML + providersTOML(oa, an, []string{bad, providerKeyA}, []string{providerKeyA}) + defaultModels
	})
	for i := 0; i < 4; i++ {
		if r := e.chat(t, body(chatBody, "gpt-4o")); r.status != 200 {
			t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
		}
	}
	badUses := 0
	for _, rq := range e.oa.Requests() {
		if rq.Key == bad {
			badUses++
		}
	}
	if badUses != 1 {
		t.Fatalf("the revoked key was sent %d times, want once", badUses)
	}
	st := keyStates(t, e, "oa")
	if st[0]["state"] != "disabled" || st[0]["disabled_by"] != 401.0 || st[1]["state"] != "active" {
		t.Fatalf("key states %v", st)
	}
}

// With every key resting, the client gets a 429 in its shape with
// Retry-After, without a call to the provider.
func TestAllKeysResting(t *testing.T) {
	e := start(t, defaultModels)
	e.oa.Enqueue(providertest.RateLimited(providertest.OpenAI, 30*time.Second, time.Now()))
	r := e.chat(t, body(chatBody, "gpt-4o"))
	if r.status != 429 || r.header.Get("Retry-After") == "" || field(t, r.json(t), "error", "code") != "rate_limit_exceeded" {
		t.Fatalf("status %d %v: %s", r.status, r.header, r.body)
	}
	n := len(e.oa.Requests())
	r = e.messages(t, body(messagesBody, "gpt-4o"))
	if r.status != 429 || r.json(t)["type"] != "error" || field(t, r.json(t), "error", "type") != "rate_limit_error" {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	if len(e.oa.Requests()) != n {
		t.Fatal("the provider was called with its only key resting")
	}
}

// fallbackModels: "primary" goes to provider p first, then falls back to
// the Anthropic mock.
func fallbackModels(p string) string {
	return `
    [[routes.plugins.config.models]]
    name = "primary"
    targets = [{ provider = "` + p + `", model = "gpt-4o" }]
    fallback = [{ provider = "an", model = "claude-haiku-4-5" }]
`
}

// On a 5xx or a 429 before anything reached the client, the next target
// answers; the client sees one answer.
func TestFallbackOnProviderErrors(t *testing.T) {
	for _, rep := range []providertest.Reply{
		providertest.OpenAIError(500, "server_error", "", "The server had an error"),
		providertest.OpenAIError(503, "server_error", "", "overloaded"),
		providertest.RateLimited(providertest.OpenAI, 10*time.Second, time.Now()),
	} {
		t.Run(string(rune('0'+rep.Status/100))+"xx", func(t *testing.T) {
			e := start(t, fallbackModels("oa"))
			e.oa.Enqueue(rep)
			r := e.chat(t, body(chatBody, "primary"))
			if r.status != 200 || field(t, r.json(t), "model") != "primary" {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if len(e.oa.Requests()) != 1 || len(e.an.Requests()) != 1 {
				t.Fatalf("calls: openai %d, anthropic %d", len(e.oa.Requests()), len(e.an.Requests()))
			}
		})
	}
}

// A provider that cannot be reached (connection refused), or that does
// not answer within its first_byte_timeout, is replaced by the next.
func TestFallbackOnConnectionFailureAndTimeout(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	extra := `
    [[routes.plugins.config.providers]]
    name = "dead"
    type = "openai-compatible"
    base_url = "http://` + deadAddr + `/v1"
    connect_timeout = "1s"

    [[routes.plugins.config.providers]]
    name = "silent"
    type = "openai-compatible"
    base_url = "http://` + silent.Addr().String() + `/v1"
    first_byte_timeout = "200ms"
` + fallbackModels("dead") + `
    [[routes.plugins.config.models]]
    name = "slow"
    targets = [{ provider = "silent", model = "gpt-4o" }]
    fallback = [{ provider = "an", model = "claude-haiku-4-5" }]

    [[routes.plugins.config.models]]
    name = "slow-only"
    targets = [{ provider = "silent", model = "gpt-4o" }]
`
	e := start(t, extra)
	for _, model := range []string{"primary", "slow"} {
		for _, stream := range []bool{false, true} {
			tmpl := chatBody
			if stream {
				tmpl = streamChatUsage
			}
			r := e.chat(t, body(tmpl, model))
			if r.status != 200 {
				t.Fatalf("%s stream=%v: status %d: %s", model, stream, r.status, r.body)
			}
			if stream {
				if text, _, done := openAIText(t, events(t, r.body)); text != allText || !done {
					t.Fatalf("%s: stream %s", model, r.body)
				}
			}
		}
	}
	r := e.chat(t, body(chatBody, "slow-only"))
	if r.status != 504 || field(t, r.json(t), "error", "type") != "server_error" {
		t.Fatalf("without a fallback: status %d: %s", r.status, r.body)
	}
}

// A streamed answer whose first event is the provider's error (Anthropic
// overloaded) has sent nothing to the client yet: the next target answers.
func TestFallbackOnFirstStreamEventError(t *testing.T) {
	e := start(t, `
    [[routes.plugins.config.models]]
    name = "claude-first"
    targets = [{ provider = "an", model = "claude-sonnet-4-5" }]
    fallback = [{ provider = "oa", model = "gpt-4o" }]
`)
	e.an.Enqueue(providertest.Reply{Events: [][]byte{providertest.AnthropicStreamError("overloaded_error", "Overloaded")}})
	r := e.messages(t, body(streamMessages, "claude-first"))
	text, types, _, _ := anthropicText(t, events(t, r.body))
	if r.status != 200 || text != allText || types[len(types)-1] != "message_stop" {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if len(e.oa.Requests()) != 1 {
		t.Fatal("the fallback was not called")
	}
}

// Once events reached the client, a failing provider is never replaced:
// the client's stream ends with the API's error event, and the fallback
// is not called (the client would get two answers glued together).
func TestNoFallbackAfterFirstEvent(t *testing.T) {
	e := start(t, fallbackModels("oa"))
	e.oa.Enqueue(providertest.Reply{Events: providertest.OpenAIStream("gpt-4o", providertest.DefaultPieces, &providertest.DefaultUsage), EndEarly: 3})
	r := e.chat(t, body(streamChatUsage, "primary"))
	evs := events(t, r.body)
	last := evs[len(evs)-1]
	if r.status != 200 || !strings.Contains(last.data, `"error"`) || strings.Contains(string(r.body), "[DONE]") {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	text := ""
	for _, ev := range evs[:len(evs)-1] {
		text += eventText(ev)
	}
	if text != strings.Join(providertest.DefaultPieces[:2], "") {
		t.Fatalf("text before the cut %q", text)
	}
	if n := len(e.an.Requests()); n != 0 {
		t.Fatalf("the fallback was called %d times after bytes were streamed", n)
	}
	// The same for an Anthropic client on an Anthropic provider.
	e2 := start(t, `
    [[routes.plugins.config.models]]
    name = "c"
    targets = [{ provider = "an", model = "claude-sonnet-4-5" }]
    fallback = [{ provider = "oa", model = "gpt-4o" }]
`)
	e2.an.Enqueue(providertest.Reply{Events: providertest.AnthropicStream("claude-sonnet-4-5", providertest.DefaultPieces, providertest.DefaultUsage), EndEarly: 4})
	r = e2.messages(t, body(streamMessages, "c"))
	evs = events(t, r.body)
	if last := evs[len(evs)-1]; last.typ != "error" || len(e2.oa.Requests()) != 0 {
		t.Fatalf("last event %v, fallback calls %d", last, len(e2.oa.Requests()))
	}
}

// Targets share the requests by weight.
func TestWeightedTargets(t *testing.T) {
	e := start(t, `
    [[routes.plugins.config.models]]
    name = "both"
    targets = [{ provider = "oa", model = "gpt-4o", weight = 1 }, { provider = "an", model = "claude-haiku-4-5", weight = 1 }]
`)
	for i := 0; i < 40; i++ {
		if r := e.chat(t, body(chatBody, "both")); r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	// With equal weights, all 40 on one side has probability 2^-39.
	if len(e.oa.Requests()) == 0 || len(e.an.Requests()) == 0 {
		t.Fatalf("openai %d, anthropic %d: not spread", len(e.oa.Requests()), len(e.an.Requests()))
	}
}
