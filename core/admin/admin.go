package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Handler serves one admin endpoint.
type Handler func(ctx *fasthttp.RequestCtx)

// Options configures an admin API.
type Options struct {
	// Token, when not "", must be sent as "Authorization: Bearer <token>".
	Token string
	// AllowedHosts are host names (or IP addresses) accepted in the Host
	// header besides the listener's own address, localhost, 127.0.0.1 and
	// [::1]; each matches with any port or none.
	AllowedHosts []string
}

// Server is the admin API. Register endpoints with Handle before Start.
//
// Every request passes the same checks before its handler runs, token or
// not, so that no web page the operator opens can use the API:
//   - the Host header names this listener (see Options.AllowedHosts),
//     which defeats DNS rebinding;
//   - an Origin header, if any, is this listener's own origin, and
//     Sec-Fetch-Site, if any, is "same-origin" or "none";
//   - the bearer token, when one is configured, except on the endpoints
//     registered with HandleOpen (health checks);
//   - a request that changes state (any method but GET, HEAD and OPTIONS)
//     carries Content-Type: application/json, or no body and no
//     Content-Type at all (as curl -X POST sends it): no HTML form and no
//     cross-origin "simple" request has that shape with a body.
type Server struct {
	tokenSum [32]byte
	hasToken bool
	allowed  map[string]bool               // extra host names, lower case, IPv6 in brackets
	routes   map[string]map[string]Handler // path -> method -> handler
	open     map[string]bool               // paths answered without the token
	srv      *fasthttp.Server
	ln       net.Listener
	bound    netip.AddrPort // the listener's address, once started
}

// New returns an admin API configured by opts.
func New(opts Options) *Server {
	s := &Server{routes: map[string]map[string]Handler{}, allowed: map[string]bool{}, open: map[string]bool{}}
	if opts.Token != "" {
		s.hasToken = true
		s.tokenSum = sha256.Sum256([]byte(opts.Token))
	}
	for _, h := range opts.AllowedHosts {
		if name := NormalizeHost(h); name != "" {
			s.allowed[name] = true
		}
	}
	return s
}

// NormalizeHost returns the form in which a host name of
// admin.allowed_hosts is compared with Host headers: lower case, without
// a trailing dot, an IPv6 address in brackets. It returns "" for what is
// not a bare host name or IP address (a port, a scheme, a path, a space
// or a wildcard in it).
func NormalizeHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil && ip.Zone() == "" {
		if ip.Is6() && !ip.Is4In6() {
			return "[" + ip.String() + "]"
		}
		return ip.Unmap().String()
	}
	if h == "" || strings.ContainsAny(h, ":/[]@*?# \t") {
		return ""
	}
	return h
}

// Handle registers h for method and path (exact match). A path ending in
// "/" matches every path under it, except "/" itself, which matches only
// "/": the admin API has no catch-all, an unknown path is a 404.
func (s *Server) Handle(method, path string, h Handler) {
	if s.routes[path] == nil {
		s.routes[path] = map[string]Handler{}
	}
	s.routes[path][method] = h
}

// HandleOpen registers h for GET and HEAD on path (exact match), answered
// without the token: for the health checks of load balancers and service
// managers (/healthz, /readyz), which often cannot send one, and the
// dashboard's static files. Such an endpoint must tell nothing but the
// process's state, or nothing at all. The other checks
// (Host, Origin, Sec-Fetch-Site) apply as to every endpoint.
func (s *Server) HandleOpen(path string, h Handler) {
	s.Handle("GET", path, h)
	s.Handle("HEAD", path, h)
	s.open[path] = true
}

// ServeHTTP checks and dispatches one admin request.
func (s *Server) ServeHTTP(ctx *fasthttp.RequestCtx) {
	if msg := s.refuseBrowser(ctx); msg != "" {
		WriteError(ctx, 403, msg)
		return
	}
	if s.hasToken && !s.isOpen(ctx) && !s.authorized(ctx.Request.Header.Peek("Authorization")) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="moongate-admin"`)
		WriteError(ctx, 401, "missing or invalid admin token")
		return
	}
	path := string(ctx.Path())
	methods := s.routes[path]
	if methods == nil {
		best := ""
		for p := range s.routes {
			if p != "/" && strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) && len(p) > len(best) {
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
	if !jsonOrEmpty(&ctx.Request) {
		WriteError(ctx, 415, "admin requests that change state need Content-Type: application/json "+
			"(curl -H 'Content-Type: application/json' -d '{...}'), or no body at all")
		return
	}
	h(ctx)
}

// isOpen reports whether the request is for an endpoint of HandleOpen.
func (s *Server) isOpen(ctx *fasthttp.RequestCtx) bool {
	if !ctx.IsGet() && !ctx.IsHead() {
		return false
	}
	return s.open[string(ctx.Path())]
}

// refuseBrowser returns why a request that a web page could have made is
// refused, or "": a Host that is not this listener's (DNS rebinding), an
// Origin that is not its own, a Sec-Fetch-Site other than same-origin or
// none.
func (s *Server) refuseBrowser(ctx *fasthttp.RequestCtx) string {
	host := ctx.Request.Header.Host()
	if len(host) == 0 {
		return "a Host header is required"
	}
	if !s.hostAllowed(host) {
		return "host " + quote(host) + " is not allowed on the admin API (add it to admin.allowed_hosts)"
	}
	// An absolute request target ("GET http://x/ HTTP/1.1") overrides Host.
	if uh := ctx.Request.URI().Host(); len(uh) > 0 && !strings.EqualFold(string(uh), string(host)) && !s.hostAllowed(uh) {
		return "host " + quote(uh) + " is not allowed on the admin API (add it to admin.allowed_hosts)"
	}
	if origin := ctx.Request.Header.Peek("Origin"); origin != nil && !sameOrigin(origin, host) {
		return "cross-origin requests are refused by the admin API (Origin " + quote(origin) + ")"
	}
	switch site := string(ctx.Request.Header.Peek("Sec-Fetch-Site")); site {
	case "", "same-origin", "none":
	default:
		return "requests from web pages are refused by the admin API (Sec-Fetch-Site " + quote([]byte(site)) + ")"
	}
	return ""
}

// hostAllowed reports whether a Host header names this listener:
// localhost, 127.0.0.1, [::1] or the address it is bound to (any IP
// address when it is bound to all of them), with its port or none, or a
// name of admin.allowed_hosts with any port.
func (s *Server) hostAllowed(hostport []byte) bool {
	host, port := splitHostPort(string(hostport))
	name := NormalizeHost(host)
	if name == "" {
		return false
	}
	if s.allowed[name] {
		return true
	}
	if port != "" && (!s.bound.IsValid() || port != strconv.Itoa(int(s.bound.Port()))) {
		return false
	}
	switch name {
	case "localhost", "127.0.0.1", "[::1]":
		return true
	}
	if !s.bound.IsValid() {
		return false
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
	if err != nil {
		return false // a name: only the listed ones
	}
	// A page cannot make a browser send an IP address it does not load
	// itself from, so an address that reached this listener is its own.
	bound := s.bound.Addr().Unmap()
	return bound.IsUnspecified() || ip.Unmap() == bound
}

// splitHostPort splits "host:port", "[v6]:port", "host" and "[v6]".
func splitHostPort(hp string) (host, port string) {
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", ""
		}
		host, rest := hp[:end+1], hp[end+1:]
		if rest == "" {
			return host, ""
		}
		if rest[0] != ':' || rest == ":" {
			return "", ""
		}
		return host, rest[1:]
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		if i == len(hp)-1 {
			return "", ""
		}
		return hp[:i], hp[i+1:]
	}
	return hp, ""
}

// sameOrigin reports whether an Origin header is the origin of the page
// at host: http:// or https:// followed by the same host[:port] (an
// operator may reach the API through a TLS proxy that keeps the Host).
// "null" (sandboxed frames, file:// pages) is never the same origin.
func sameOrigin(origin, host []byte) bool {
	o := string(origin)
	rest, ok := strings.CutPrefix(o, "http://")
	if !ok {
		rest, ok = strings.CutPrefix(o, "https://")
	}
	return ok && len(host) > 0 && strings.EqualFold(rest, string(host))
}

// jsonOrEmpty reports whether a request may change state: GET, HEAD and
// OPTIONS always; other methods need Content-Type: application/json, or
// no body and no Content-Type. A page can post a form, or text/plain,
// to any address without asking; JSON needs a CORS preflight that this
// API never grants.
func jsonOrEmpty(req *fasthttp.Request) bool {
	switch string(req.Header.Method()) {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	ct := req.Header.ContentType()
	if len(ct) == 0 {
		return len(req.Body()) == 0
	}
	media, _, _ := strings.Cut(string(ct), ";")
	return strings.EqualFold(strings.TrimSpace(media), "application/json")
}

func quote(b []byte) string {
	const max = 100
	if len(b) > max {
		b = b[:max]
	}
	return strconv.Quote(string(b))
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
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		s.bound = tcp.AddrPort()
		addLive(s.bound)
	}
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
	removeLive(s.bound)
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
