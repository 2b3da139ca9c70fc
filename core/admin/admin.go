package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net"
	"sort"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// Handler serves one admin endpoint.
type Handler func(ctx *fasthttp.RequestCtx)

type endpoint struct {
	method, path string
	h            Handler
}

var (
	registryMu sync.Mutex
	registry   []endpoint
)

// Register adds an endpoint to every admin API created afterwards, for
// packages outside core (a plugin's counters, say). It is meant to be
// called from init; the endpoint gets the token check like the others,
// and the gateway's own endpoints win a clash.
func Register(method, path string, h Handler) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry = append(registry, endpoint{method, path, h})
}

// Server is the admin API. Register endpoints with Handle before Start.
type Server struct {
	tokenSum [32]byte
	hasToken bool
	routes   map[string]map[string]Handler // path -> method -> handler
	srv      *fasthttp.Server
	ln       net.Listener
}

// New returns an admin API requiring token ("" for none).
func New(token string) *Server {
	s := &Server{routes: map[string]map[string]Handler{}}
	registryMu.Lock()
	for _, e := range registry {
		s.Handle(e.method, e.path, e.h)
	}
	registryMu.Unlock()
	if token != "" {
		s.hasToken = true
		s.tokenSum = sha256.Sum256([]byte(token))
	}
	return s
}

// Handle registers h for method and path (exact match). A path ending in
// "/" matches every path under it.
func (s *Server) Handle(method, path string, h Handler) {
	if s.routes[path] == nil {
		s.routes[path] = map[string]Handler{}
	}
	s.routes[path][method] = h
}

// ServeHTTP authenticates and dispatches one admin request.
func (s *Server) ServeHTTP(ctx *fasthttp.RequestCtx) {
	if s.hasToken && !s.authorized(ctx.Request.Header.Peek("Authorization")) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="moongate-admin"`)
		WriteError(ctx, 401, "missing or invalid admin token")
		return
	}
	path := string(ctx.Path())
	methods := s.routes[path]
	if methods == nil {
		best := ""
		for p := range s.routes {
			if strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) && len(p) > len(best) {
				best = p
			}
		}
		methods = s.routes[best]
	}
	if methods == nil {
		WriteError(ctx, 404, "no such admin endpoint")
		return
	}
	h := methods[string(ctx.Method())]
	if h == nil {
		var allow []string
		for m := range methods {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		ctx.Response.Header.Set("Allow", strings.Join(allow, ", "))
		WriteError(ctx, 405, "method not allowed")
		return
	}
	h(ctx)
}

// authorized compares the bearer token in constant time (both sides are
// hashed first so that the comparison does not leak the token's length).
func (s *Server) authorized(header []byte) bool {
	const prefix = "Bearer "
	if len(header) < len(prefix) || !strings.EqualFold(string(header[:len(prefix)]), prefix) {
		return false
	}
	sum := sha256.Sum256(header[len(prefix):])
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

// Start listens on addr and serves in the background.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &fasthttp.Server{Handler: s.ServeHTTP, Name: "moongate-admin", NoDefaultContentType: true}
	go s.srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	return nil
}

// Addr returns the address the admin API listens on.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the admin API.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown()
	s.ln.Close() // in case Serve had not started: it then returns at once
	return err
}

// WriteError answers with the admin API's error body:
// {"error": message, "status": status}.
func WriteError(ctx *fasthttp.RequestCtx, status int, message string) {
	WriteJSON(ctx, status, map[string]any{"error": message, "status": status})
}

// WriteJSON answers with status and v encoded as indented JSON.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = 500, []byte(`{"error":"encoding failed","status":500}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '\n'))
}
