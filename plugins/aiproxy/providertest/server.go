package providertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Kind is the API a mock speaks.
type Kind int

// The kinds of mocks.
const (
	OpenAI Kind = iota + 1
	Anthropic
)

func (k Kind) String() string {
	if k == Anthropic {
		return "anthropic"
	}
	return "openai"
}

// DefaultKey is the provider key a mock accepts when New is given none.
const DefaultKey = "test-provider-key"

// DefaultPieces is the text of a default answer, one piece per streamed
// content event.
var DefaultPieces = []string{"Hello", " from", " the", " mock", " ✓"}

// DefaultUsage is the usage of a default answer.
var DefaultUsage = Usage{Input: 12, Output: 5}

// Usage is the token usage a mock reports, in neutral terms: Input is
// every prompt token; CacheRead and CacheWrite are the parts of it read
// from and written to the prompt cache. Each mock writes it in its API's
// shape (Anthropic's input_tokens excludes the cache parts).
type Usage struct {
	Input, Output, CacheRead, CacheWrite int64
}

// Request is one request a mock received.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	// Key is the provider key the request carried (Bearer token, api-key
	// or x-api-key), "" when none.
	Key  string
	Body []byte
	// Canceled is set, in what Handled delivers, when the client went
	// away before the answer was written in full.
	Canceled bool
}

// JSON decodes the request body into v, failing the test on error.
func (r Request) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("request body %q: %v", r.Body, err)
	}
}

// Reply is an answer a test queues with Enqueue.
type Reply struct {
	// Status is the HTTP status; 0 is 200.
	Status int
	// Header holds extra response headers; a Content-Type here replaces
	// the default one (application/json, or text/event-stream for
	// Events).
	Header map[string]string
	// Body is the answer when Events is nil (a JSON body).
	Body []byte
	// Events, when not nil, makes the answer an event stream: each
	// element is written (and flushed) as it is, so it should hold whole
	// SSE events ("data: ...\n\n"); the helpers build them.
	Events [][]byte
	// Delay is waited before every event but the first.
	Delay time.Duration
	// Gate, when not nil, is received from before every event but the
	// first: a test releases events one by one, with no timing involved.
	Gate <-chan struct{}
	// Split, when not nil, cuts each event into pieces written and
	// flushed one by one (SplitDelay apart), so the client gets them in
	// separate reads: see SplitEvery and SplitInRunes.
	Split      func(event []byte) []int
	SplitDelay time.Duration
	// EndEarly stops the stream after this many events without a proper
	// end (0 = write all), as when a provider's connection drops.
	EndEarly int
	// Hang makes the mock wait, after writing the headers and the events,
	// until the client goes away (for timeout and cancellation tests).
	Hang bool
}

// Server is a mock provider.
type Server struct {
	// URL is the base URL: http://127.0.0.1:PORT. OpenAI paths are under
	// /v1, Azure ones under /openai/deployments/NAME; Anthropic's under
	// /v1.
	URL  string
	Kind Kind

	srv     *httptest.Server
	keys    map[string]bool
	models  []string
	handled chan Request

	conns atomic.Int64 // connections accepted

	mu       sync.Mutex
	requests []Request
	replies  []Reply
}

// New starts a mock of the given kind on 127.0.0.1, accepting the given
// provider keys (DefaultKey when none). It is closed when the test ends.
func New(t testing.TB, kind Kind, keys ...string) *Server {
	t.Helper()
	if len(keys) == 0 {
		keys = []string{DefaultKey}
	}
	s := &Server{Kind: kind, keys: map[string]bool{}, handled: make(chan Request, 256), models: []string{"mock-model"}}
	for _, k := range keys {
		s.keys[k] = true
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.Start()
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, ending open connections.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetModels sets the model IDs GET /v1/models lists (OpenAI mocks).
func (s *Server) SetModels(ids ...string) {
	s.mu.Lock()
	s.models = append([]string(nil), ids...)
	s.mu.Unlock()
}

// Enqueue queues answers: each of the next requests gets the next reply
// (authentication is checked first); when the queue is empty, requests
// get the default answer.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	s.replies = append(s.replies, replies...)
	s.mu.Unlock()
}

// Conns returns how many connections the mock accepted so far: requests
// sent on a kept-alive connection share one.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Handled delivers each request once its answer is over (written, or
// abandoned by the client: Canceled). It holds up to 256 requests that
// nobody took.
func (s *Server) Handled() <-chan Request { return s.handled }

// WaitHandled returns the next handled request, failing the test after
// timeout.
func (s *Server) WaitHandled(t testing.TB, timeout time.Duration) Request {
	t.Helper()
	select {
	case r := <-s.handled:
		return r
	case <-time.After(timeout):
		t.Fatalf("%s mock: no request handled within %v", s.Kind, timeout)
		return Request{}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Key: s.key(r), Body: body}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	req.Canceled = !s.answer(w, r, req)
	select {
	case s.handled <- req:
	default:
	}
}

func (s *Server) key(r *http.Request) string {
	if s.Kind == Anthropic {
		return r.Header.Get("x-api-key")
	}
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return k
	}
	return r.Header.Get("api-key")
}

// answer writes the answer; it reports false when the client went away
// first.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, req Request) bool {
	if !s.keys[req.Key] {
		if s.Kind == Anthropic {
			writeReply(w, r, AnthropicError(401, "authentication_error", "invalid x-api-key"))
		} else {
			writeReply(w, r, OpenAIError(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: "+mask(req.Key)+". You can find your API key at https://platform.openai.com/account/api-keys."))
		}
		return true
	}
	if s.Kind == Anthropic && r.Header.Get("anthropic-version") == "" {
		return writeReply(w, r, AnthropicError(400, "invalid_request_error", "anthropic-version: header is required"))
	}
	s.mu.Lock()
	var reply *Reply
	if len(s.replies) > 0 {
		reply = &s.replies[0]
		s.replies = s.replies[1:]
	}
	models := s.models
	s.mu.Unlock()
	if reply != nil {
		return writeReply(w, r, *reply)
	}
	return writeReply(w, r, s.defaultReply(r, req, models))
}

// mask shows a key the way OpenAI's 401 does: the start and the end.
func mask(key string) string {
	if len(key) < 8 {
		return "***"
	}
	return key[:3] + strings.Repeat("*", 8) + key[len(key)-4:]
}

func (s *Server) defaultReply(r *http.Request, req Request, models []string) Reply {
	path := r.URL.Path
	if s.Kind == Anthropic {
		if r.Method != http.MethodPost || path != "/v1/messages" {
			return AnthropicError(404, "not_found_error", "Not found: "+path)
		}
		var body struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		if json.Unmarshal(req.Body, &body) != nil || body.Model == "" {
			return AnthropicError(400, "invalid_request_error", "model: Field required")
		}
		if body.Stream {
			return Reply{Events: AnthropicStream(body.Model, DefaultPieces, DefaultUsage)}
		}
		return Reply{Body: AnthropicMessage(body.Model, strings.Join(DefaultPieces, ""), DefaultUsage)}
	}
	switch {
	case r.Method == http.MethodGet && path == "/v1/models":
		list := struct {
			Object string `json:"object"`
			Data   []any  `json:"data"`
		}{Object: "list", Data: []any{}}
		for _, id := range models {
			list.Data = append(list.Data, map[string]any{"id": id, "object": "model", "created": 1700000000, "owned_by": "mock"})
		}
		b, _ := json.Marshal(list)
		return Reply{Body: b}
	case r.Method == http.MethodPost && (path == "/v1/embeddings" || strings.HasPrefix(path, "/openai/deployments/") && strings.HasSuffix(path, "/embeddings")):
		var body struct {
			Model string          `json:"model"`
			Input json.RawMessage `json:"input"`
		}
		if json.Unmarshal(req.Body, &body) != nil || len(body.Input) == 0 {
			return OpenAIError(400, "invalid_request_error", "", "'input' is a required property")
		}
		n := 1
		var list []json.RawMessage
		// A list of strings or of token lists is several inputs; a string
		// or one token list is one.
		if json.Unmarshal(body.Input, &list) == nil && len(list) > 0 && (list[0][0] == '"' || list[0][0] == '[') {
			n = len(list)
		}
		return Reply{Body: Embeddings(body.Model, n, Usage{Input: DefaultUsage.Input})}
	case r.Method == http.MethodPost && (path == "/v1/chat/completions" || strings.HasPrefix(path, "/openai/deployments/") && strings.HasSuffix(path, "/chat/completions")):
		var body struct {
			Model         string `json:"model"`
			Stream        bool   `json:"stream"`
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if json.Unmarshal(req.Body, &body) != nil {
			return OpenAIError(400, "invalid_request_error", "", "We could not parse the JSON body of your request.")
		}
		if body.Model == "" {
			body.Model = "mock-deployment" // Azure names the deployment in the path
		}
		if body.Stream {
			var u *Usage
			if body.StreamOptions != nil && body.StreamOptions.IncludeUsage {
				u = &DefaultUsage
			}
			return Reply{Events: OpenAIStream(body.Model, DefaultPieces, u)}
		}
		return Reply{Body: OpenAIChat(body.Model, strings.Join(DefaultPieces, ""), DefaultUsage)}
	}
	return OpenAIError(404, "invalid_request_error", "unknown_url", "Invalid URL ("+r.Method+" "+path+")")
}

// writeReply writes rep; it reports false when the client went away
// before the end.
func writeReply(w http.ResponseWriter, r *http.Request, rep Reply) bool {
	status := rep.Status
	if status == 0 {
		status = http.StatusOK
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	ctx := r.Context()
	if rep.Events == nil {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(rep.Body)))
		w.WriteHeader(status)
		_, err := w.Write(rep.Body)
		if rep.Hang {
			<-ctx.Done()
			return false
		}
		return err == nil
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/event-stream")
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return false
	}
	for i, ev := range rep.Events {
		if rep.EndEarly > 0 && i >= rep.EndEarly {
			break
		}
		if i > 0 {
			if !pause(ctx, rep.Delay, rep.Gate) {
				return false
			}
		}
		var cuts []int
		if rep.Split != nil {
			cuts = rep.Split(ev)
		}
		prev := 0
		for j := 0; j <= len(cuts); j++ {
			end := len(ev)
			if j < len(cuts) {
				end = min(max(cuts[j], prev), len(ev))
			}
			if end == prev && j < len(cuts) {
				continue
			}
			if j > 0 && !pause(ctx, rep.SplitDelay, nil) {
				return false
			}
			if _, err := w.Write(ev[prev:end]); err != nil {
				return false
			}
			if rc.Flush() != nil {
				return false
			}
			prev = end
		}
	}
	if rep.Hang {
		<-ctx.Done()
		return false
	}
	return ctx.Err() == nil
}

// pause waits d, then for a value on gate (when not nil); it reports
// false when the client went away meanwhile.
func pause(ctx context.Context, d time.Duration, gate <-chan struct{}) bool {
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// SplitEvery cuts events every n bytes.
func SplitEvery(n int) func([]byte) []int {
	return func(ev []byte) []int {
		var cuts []int
		for i := n; i < len(ev); i += n {
			cuts = append(cuts, i)
		}
		return cuts
	}
}

// SplitInRunes cuts each event inside its first multi-byte UTF-8
// character (after its first byte), between the CR and LF of its first
// CRLF, and before its final blank line, so a client must join pieces at
// the hardest places. An event with none of these is cut in the middle.
func SplitInRunes(ev []byte) []int {
	var cuts []int
	for i, c := range ev {
		if c >= 0xC0 {
			cuts = append(cuts, i+1)
			break
		}
	}
	if i := bytes.Index(ev, []byte("\r\n")); i >= 0 {
		cuts = append(cuts, i+1)
	}
	if len(ev) > 2 {
		cuts = append(cuts, len(ev)-1)
	}
	if len(cuts) == 0 {
		cuts = append(cuts, len(ev)/2)
	}
	sortInts(cuts)
	return cuts
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
