package providertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/plugins/aiproxy/anthropic"
	"github.com/moongate/moongate/plugins/aiproxy/openai"
	"github.com/moongate/moongate/plugins/aiproxy/sse"
	"github.com/moongate/moongate/plugins/aiproxy/translate"
	"github.com/moongate/moongate/plugins/aiproxy/usage"
)

const waitLimit = 10 * time.Second

func post(t *testing.T, url string, header map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	openAIAuth    = map[string]string{"Authorization": "Bearer " + DefaultKey}
	anthropicAuth = map[string]string{"x-api-key": DefaultKey, "anthropic-version": "2023-06-01"}
)

// TestDefaultAnswers: each mock answers JSON and streamed requests in its
// API's shape, with the default text and usage, and records what it got.
func TestDefaultAnswers(t *testing.T) {
	o := New(t, OpenAI)
	resp := post(t, o.URL+"/v1/chat/completions", openAIAuth, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"future":1}`)
	var chat openai.ChatResponse
	if err := json.Unmarshal(readBody(t, resp), &chat); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if *chat.Choices[0].Message.Content != "Hello from the mock ✓" || chat.Model != "gpt-4o" || chat.Usage.TotalTokens != 17 {
		t.Fatalf("got %+v", chat)
	}
	got := o.WaitHandled(t, waitLimit)
	if got.Key != DefaultKey || got.Path != "/v1/chat/completions" || !bytes.Contains(got.Body, []byte(`"future":1`)) || got.Canceled {
		t.Fatalf("recorded %+v", got)
	}

	resp = post(t, o.URL+"/v1/chat/completions", openAIAuth, `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var meter usage.Stream
	var text strings.Builder
	r := sse.NewReader(resp.Body, 0)
	done := false
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if sse.IsDone(ev.Data) {
			done = true
			continue
		}
		meter.OpenAI(ev.Data)
		var c openai.ChatChunk
		must(t, json.Unmarshal(ev.Data, &c))
		if len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil {
			text.WriteString(*c.Choices[0].Delta.Content)
		}
	}
	if u, ok := meter.Tokens(); !done || !ok || u.Total != 17 || text.String() != "Hello from the mock ✓" {
		t.Fatalf("done %v usage %+v text %q", done, u, text.String())
	}

	a := New(t, Anthropic)
	resp = post(t, a.URL+"/v1/messages", anthropicAuth, `{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`)
	body := readBody(t, resp)
	var msg anthropic.Response
	if err := json.Unmarshal(body, &msg); err != nil || resp.StatusCode != 200 || msg.Content[0].Text != "Hello from the mock ✓" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if u, ok := usage.FromAnthropic(body); !ok || u.Prompt != 12 || u.Completion != 5 {
		t.Fatalf("usage %+v", u)
	}
	resp = post(t, a.URL+"/v1/messages", anthropicAuth, `{"model":"claude","max_tokens":5,"stream":true,"messages":[]}`)
	out, err := translateAll(resp.Body, translate.NewStreamToOpenAI(translate.ResponseOptions{Created: 1}, true))
	if err != nil || !bytes.Contains(out, []byte(`"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17`)) {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := a.WaitHandled(t, waitLimit); got.Key != DefaultKey || got.Header.Get("anthropic-version") != "2023-06-01" {
		t.Fatalf("recorded %+v", got)
	}
}

type eventTranslator interface {
	Event(dst, typ, data []byte) ([]byte, error)
	End(dst []byte) ([]byte, error)
}

func translateAll(src io.Reader, tr eventTranslator) ([]byte, error) {
	r := sse.NewReader(src, 0)
	var out []byte
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return tr.End(out)
		}
		if err != nil {
			return out, err
		}
		if ev.HasData {
			out, _ = tr.Event(out, ev.Type, ev.Data)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuthentication: a wrong or missing key gets the provider's 401; an
// Anthropic request without anthropic-version gets 400.
func TestAuthentication(t *testing.T) {
	o := New(t, OpenAI, "key-1", "key-2")
	resp := post(t, o.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer key-3-wrong"}, `{}`)
	body := readBody(t, resp)
	if resp.StatusCode != 401 || !bytes.Contains(body, []byte(`"code":"invalid_api_key"`)) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp = post(t, o.URL+"/openai/deployments/gpt4/chat/completions?api-version=2024-10-21", map[string]string{"api-key": "key-2"}, `{"messages":[]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("Azure path with api-key: %d %s", resp.StatusCode, readBody(t, resp))
	}
	if r := o.Requests(); r[1].Key != "key-2" || r[1].RawQuery != "api-version=2024-10-21" {
		t.Fatalf("recorded %+v", r[1])
	}

	a := New(t, Anthropic)
	resp = post(t, a.URL+"/v1/messages", map[string]string{"x-api-key": "nope", "anthropic-version": "2023-06-01"}, `{}`)
	body = readBody(t, resp)
	if resp.StatusCode != 401 || !bytes.Contains(body, []byte(`"type":"authentication_error"`)) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp = post(t, a.URL+"/v1/messages", map[string]string{"x-api-key": DefaultKey}, `{}`)
	if resp.StatusCode != 400 {
		t.Fatalf("without anthropic-version: %d", resp.StatusCode)
	}
}

// TestRateLimitHeaders: a queued 429 carries retry-after and the
// provider's reset headers, then the mock answers normally again.
func TestRateLimitHeaders(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := New(t, OpenAI)
	o.Enqueue(RateLimited(OpenAI, 1500*time.Millisecond, now))
	resp := post(t, o.URL+"/v1/chat/completions", openAIAuth, `{"model":"m","messages":[]}`)
	if resp.StatusCode != 429 || resp.Header.Get("retry-after") != "2" || resp.Header.Get("x-ratelimit-reset-requests") != "1.5s" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	if resp := post(t, o.URL+"/v1/chat/completions", openAIAuth, `{"model":"m","messages":[]}`); resp.StatusCode != 200 {
		t.Fatalf("after the queued reply: %d", resp.StatusCode)
	}
	a := New(t, Anthropic)
	a.Enqueue(RateLimited(Anthropic, 30*time.Second, now))
	resp = post(t, a.URL+"/v1/messages", anthropicAuth, `{}`)
	body := readBody(t, resp)
	if resp.StatusCode != 429 || resp.Header.Get("retry-after") != "30" || resp.Header.Get("anthropic-ratelimit-requests-reset") != "2026-01-02T03:04:35Z" ||
		!bytes.Contains(body, []byte(`"rate_limit_error"`)) {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
}

// TestPacedStream: with a Gate, the client gets each event before the
// next is released: the stream arrives event by event.
func TestPacedStream(t *testing.T) {
	a := New(t, Anthropic)
	gate := make(chan struct{})
	events := AnthropicStream("claude", []string{"one", "two", "three"}, DefaultUsage)
	a.Enqueue(Reply{Events: events, Gate: gate})
	resp := post(t, a.URL+"/v1/messages", anthropicAuth, `{}`)
	r := sse.NewReader(resp.Body, 0)
	for i := range events {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if string(ev.Raw) != string(events[i]) {
			t.Fatalf("event %d: got %q, want %q", i, ev.Raw, events[i])
		}
		if i < len(events)-1 {
			gate <- struct{}{} // the next event is written only now
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
}

// TestSplitWrites: events cut inside UTF-8 characters and between CR and
// LF, written in separate flushed writes, read back whole and unchanged.
func TestSplitWrites(t *testing.T) {
	o := New(t, OpenAI)
	events := OpenAIStream("m", []string{"日本語", "é", "🌍"}, &DefaultUsage)
	for i, ev := range events { // CRLF line ends too
		events[i] = bytes.ReplaceAll(ev, []byte("\n"), []byte("\r\n"))
	}
	o.Enqueue(Reply{Events: events, Split: SplitInRunes, SplitDelay: 5 * time.Millisecond})
	resp := post(t, o.URL+"/v1/chat/completions", openAIAuth, `{}`)
	r := sse.NewReader(resp.Body, 0)
	var text strings.Builder
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		var c openai.ChatChunk
		if !sse.IsDone(ev.Data) && json.Unmarshal(ev.Data, &c) == nil && len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil {
			text.WriteString(*c.Choices[0].Delta.Content)
		}
	}
	if text.String() != "日本語é🌍" {
		t.Fatalf("text %q", text.String())
	}
	if cuts := SplitInRunes([]byte("data: é\r\n\r\n")); len(cuts) != 3 || cuts[0] != 7 || cuts[1] != 9 || cuts[2] != 11 {
		t.Fatalf("cuts %v", cuts)
	}
}

// TestCancellation: a client that goes away mid-stream is seen by the
// mock (Handled reports Canceled), which stops writing.
func TestCancellation(t *testing.T) {
	a := New(t, Anthropic)
	gate := make(chan struct{})
	a.Enqueue(Reply{Events: AnthropicStream("claude", DefaultPieces, DefaultUsage), Gate: gate})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+"/v1/messages", strings.NewReader(`{}`))
	for k, v := range anthropicAuth {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := sse.NewReader(resp.Body, 0).Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if got := a.WaitHandled(t, waitLimit); !got.Canceled {
		t.Fatalf("the mock did not see the client go away: %+v", got)
	}
}

// TestEndEarlyAndErrors: a stream cut short, and a stream error event.
func TestEndEarlyAndErrors(t *testing.T) {
	a := New(t, Anthropic)
	evs := AnthropicStream("claude", DefaultPieces, DefaultUsage)
	a.Enqueue(Reply{Events: evs, EndEarly: 4}, Reply{Events: append(evs[:4:4], AnthropicStreamError("overloaded_error", "Overloaded"))})
	resp := post(t, a.URL+"/v1/messages", anthropicAuth, `{}`)
	_, err := translateAll(resp.Body, translate.NewStreamToOpenAI(translate.ResponseOptions{}, false))
	if err != translate.ErrStreamCut {
		t.Fatalf("cut stream: got %v", err)
	}
	resp = post(t, a.URL+"/v1/messages", anthropicAuth, `{}`)
	out, _ := translateAll(resp.Body, translate.NewStreamToOpenAI(translate.ResponseOptions{}, false))
	if !bytes.Contains(out, []byte(`"code":"overloaded"`)) {
		t.Fatalf("got %s", out)
	}
	o := New(t, OpenAI)
	o.Enqueue(OpenAIError(500, "server_error", "", "boom"))
	resp = post(t, o.URL+"/v1/chat/completions", openAIAuth, `{}`)
	if status, body := translate.ErrorToAnthropic(resp.StatusCode, readBody(t, resp)); status != 500 || !bytes.Contains(body, []byte(`"message":"boom"`)) {
		t.Fatalf("%d %s", status, body)
	}
}

// TestEmbeddingsAndModels: the other OpenAI endpoints.
func TestEmbeddingsAndModels(t *testing.T) {
	o := New(t, OpenAI)
	o.SetModels("gpt-4o", "text-embedding-3-small")
	resp := post(t, o.URL+"/v1/embeddings", openAIAuth, `{"model":"text-embedding-3-small","input":["a","b"]}`)
	var emb openai.EmbeddingResponse
	must(t, json.Unmarshal(readBody(t, resp), &emb))
	if len(emb.Data) != 2 || emb.Usage.PromptTokens != 12 {
		t.Fatalf("%+v", emb)
	}
	req, _ := http.NewRequest(http.MethodGet, o.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	mresp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer mresp.Body.Close()
	var list openai.ModelList
	must(t, json.NewDecoder(mresp.Body).Decode(&list))
	if len(list.Data) != 2 || list.Data[0].ID != "gpt-4o" {
		t.Fatalf("%+v", list)
	}
}

// TestHang: a Hang reply keeps the connection until the client gives up,
// for timeout tests.
func TestHang(t *testing.T) {
	o := New(t, OpenAI)
	o.Enqueue(Reply{Events: [][]byte{}, Hang: true})
	conn, err := net.Dial("tcp", strings.TrimPrefix(o.URL, "http://"))
	must(t, err)
	_, err = conn.Write([]byte("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + DefaultKey + "\r\nContent-Length: 2\r\n\r\n{}"))
	must(t, err)
	buf := make([]byte, 512)
	n, err := conn.Read(buf) // the headers come, then nothing
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200")) {
		t.Fatalf("%q %v", buf[:n], err)
	}
	conn.Close()
	if got := o.WaitHandled(t, waitLimit); !got.Canceled {
		t.Fatalf("%+v", got)
	}
}
