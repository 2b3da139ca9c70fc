package aitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/aiproxy"
	"github.com/moongate/moongate/plugins/aiproxy/providertest"
	_ "github.com/moongate/moongate/plugins/keyauth"
	_ "github.com/moongate/moongate/plugins/lua"
	_ "github.com/moongate/moongate/plugins/multiauth"
)

// The client's own key (a consumer of the gateway) and the provider keys
// (only in the gateway's configuration). Tests check that the latter never
// reach a client.
const (
	clientKey    = "client-key-alice-0123456789"
	providerKeyA = "sk-provider-key-AAAAAAAAAAAAAAAA"
	providerKeyB = "sk-provider-key-BBBBBBBBBBBBBBBB"
)

// env is a gateway in front of one mock OpenAI and one mock Anthropic.
type env struct {
	gw        *gatewaytest.Gateway
	oa, an    *providertest.Server
	providers string // the providers part of the configuration
}

// consumers and auth: alice authenticates with x-api-key or
// Authorization: Bearer, as the two SDKs send their key.
const authTOML = `
[[consumers]]
name = "alice"
keys = ["` + clientKey + `"]

[[consumers]]
name = "bob"
keys = ["client-key-bob-0123456789"]
`

// routeTOML is the route head: ai-errors first (it shapes the errors of
// the steps after it), then authentication.
const routeTOML = `
[[routes]]
name = "ai"
paths = ["/v1/"]

  [[routes.plugins]]
  name = "ai-errors"

  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  steps = [
    { name = "key-auth", config = { header = "Authorization", scheme = "Bearer" } },
    { name = "key-auth", config = { header = "x-api-key" } },
  ]

  [[routes.plugins]]
  name = "ai-proxy"
  [routes.plugins.config]
`

// providersTOML declares the two mocks, each with the given keys.
func providersTOML(oa, an *providertest.Server, oaKeys, anKeys []string) string {
	q := func(keys []string) string {
		var parts []string
		for _, k := range keys {
			parts = append(parts, `"`+k+`"`)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return `
    [[routes.plugins.config.providers]]
    name = "oa"
    type = "openai"
    base_url = "` + oa.URL + `/v1"
    keys = ` + q(oaKeys) + `
    first_byte_timeout = "5s"
    idle_timeout = "5s"

    [[routes.plugins.config.providers]]
    name = "an"
    type = "anthropic"
    base_url = "` + an.URL + `"
    keys = ` + q(anKeys) + `
    first_byte_timeout = "5s"
    idle_timeout = "5s"
`
}

// start starts both mocks and a gateway whose ai-proxy step has the
// providers, then extra (models, limits, cache...).
func start(t *testing.T, extra string) *env {
	t.Helper()
	e := &env{
		oa: providertest.New(t, providertest.OpenAI, providerKeyA, providerKeyB),
		an: providertest.New(t, providertest.Anthropic, providerKeyA, providerKeyB),
	}
	e.providers = providersTOML(e.oa, e.an, []string{providerKeyA}, []string{providerKeyA})
	e.gw = gatewaytest.Start(t, authTOML+routeTOML+e.providers+extra)
	return e
}

// startWith is start with a configuration of the test's own making, given
// the mocks.
func startWith(t *testing.T, build func(oa, an *providertest.Server) string) *env {
	t.Helper()
	e := &env{
		oa: providertest.New(t, providertest.OpenAI, providerKeyA, providerKeyB),
		an: providertest.New(t, providertest.Anthropic, providerKeyA, providerKeyB),
	}
	e.gw = gatewaytest.Start(t, build(e.oa, e.an))
	return e
}

const defaultModels = `
    [[routes.plugins.config.models]]
    name = "gpt-4o"
    aliases = ["gpt"]
    targets = [{ provider = "oa", model = "gpt-4o-2024-08-06" }]

    [[routes.plugins.config.models]]
    name = "claude-sonnet"
    targets = [{ provider = "an", model = "claude-sonnet-4-5" }]

    [[routes.plugins.config.models]]
    name = "gpt-via-claude"
    targets = [{ provider = "an", model = "claude-haiku-4-5" }]

    [[routes.plugins.config.models]]
    name = "claude-via-gpt"
    targets = [{ provider = "oa", model = "gpt-4o-mini" }]
`

var httpClient = &http.Client{Timeout: 20 * time.Second}

// result is a gateway's answer.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.status, err, r.body)
	}
	return m
}

// openaiHeaders and anthropicHeaders are what the SDKs send.
func openaiHeaders(key string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
}

func anthropicHeaders(key string) map[string]string {
	return map[string]string{"x-api-key": key, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
}

// do sends a request and reads the whole answer.
func (e *env) do(t *testing.T, method, path string, headers map[string]string, body string) result {
	t.Helper()
	resp := e.open(t, method, path, headers, body)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// open sends a request and returns the answer unread.
func (e *env) open(t *testing.T, method, path string, headers map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.gw.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// rawRequest sends a request on a socket of its own and returns the
// socket and a reader positioned after the answer's head, for tests that
// must control the connection (a client that goes away). The socket is
// closed at the end of the test.
func rawRequest(t *testing.T, e *env, method, path string, headers map[string]string, body string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: gateway\r\n")
	for k, v := range headers {
		b.WriteString(k + ": " + v + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("%s %s: status line %q: %v", method, path, status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%s %s: reading the head: %v", method, path, err)
		}
		if line == "\r\n" {
			return conn, br
		}
	}
}

// chat posts an OpenAI chat request as alice.
func (e *env) chat(t *testing.T, body string) result {
	t.Helper()
	return e.do(t, "POST", "/v1/chat/completions", openaiHeaders(clientKey), body)
}

// messages posts an Anthropic messages request as alice.
func (e *env) messages(t *testing.T, body string) result {
	t.Helper()
	return e.do(t, "POST", "/v1/messages", anthropicHeaders(clientKey), body)
}

// sseEvent is one event as the client read it.
type sseEvent struct {
	typ  string
	data string
}

// events parses a whole event stream.
func events(t *testing.T, b []byte) []sseEvent {
	t.Helper()
	r := newEventReader(bytes.NewReader(b))
	var out []sseEvent
	for {
		ev, ok := r.next()
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

// eventReader reads events one by one from a live answer.
type eventReader struct{ br *bufio.Reader }

func newEventReader(r io.Reader) *eventReader { return &eventReader{br: bufio.NewReader(r)} }

// next returns the next event with data; false at the end.
func (r *eventReader) next() (sseEvent, bool) {
	var ev sseEvent
	var data []string
	for {
		line, err := r.br.ReadString('\n')
		if err != nil && line == "" {
			return ev, false
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if len(data) > 0 {
				ev.data = strings.Join(data, "\n")
				return ev, true
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			ev.typ = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
}

// noProviderKey fails if b holds a provider key, or any part of one a
// provider's message could quote.
func noProviderKey(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, k := range []string{providerKeyA, providerKeyB, providertest.DefaultKey, "AAAAAAAA", "BBBBBBBB"} {
		if bytes.Contains(b, []byte(k)) {
			t.Fatalf("%s leaks a provider key (%q): %s", what, k, b)
		}
	}
}

// adminGet fetches an admin endpoint.
func (e *env) adminGet(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := httpClient.Get(e.gw.AdminURL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

func field(t *testing.T, m map[string]any, path ...string) any {
	t.Helper()
	var v any = m
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, ch := range p {
				i = i*10 + int(ch-'0')
			}
			if i >= len(x) {
				t.Fatalf("%v: index %d out of range in %v", path, i, m)
			}
			v = x[i]
		default:
			t.Fatalf("%v: no %q in %v", path, p, m)
		}
	}
	return v
}
