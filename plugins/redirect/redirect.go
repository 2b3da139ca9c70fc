package redirect

import (
	"bytes"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/template"
	"github.com/moongate/moongate/core/transformstep"
)

func init() { plugin.Register("redirect", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Status is the redirect's status: 301, 302, 303, 307 or 308.
	// Default 301 (308 and 307 keep the method and body of a POST).
	Status int `toml:"status"`
	// To is the target, a template: "/" and a path, or an absolute
	// http(s) URL; $1, ${name} are the captures of From. Default "".
	To string `toml:"to"`
	// From is matched against the path (percent-encoded); requests it
	// does not match go on to the upstream. Default "": every path.
	From string `toml:"from"`
	// HTTPS redirects requests that came over plain HTTP (directly, or
	// through a trusted proxy's X-Forwarded-Proto) to the same host and
	// path in https; requests that came over https go on. Default false.
	HTTPS bool `toml:"https"`
	// HTTPSPort is the port of the https URL. Default 443 (not written).
	HTTPSPort int `toml:"https_port"`
	// KeepQuery adds the request's query string to the target (after
	// the target's own, with "&"). Default false.
	KeepQuery bool `toml:"keep_query"`
}

// Plugin is an instance of redirect.
type Plugin struct {
	status    int
	to        *template.Template
	static    []byte // the target, when it references nothing
	from      *regexp.Regexp
	https     bool
	port      string // ":8443", or "" for 443
	keepQuery bool
	relative  bool // the target starts with "/"
	fromReq   bool // the target reads the request beyond the path ($(...))
}

var (
	_ plugin.RequestHandler = (*Plugin)(nil)
	_ plugin.Responder      = (*Plugin)(nil)
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Status: 301, HTTPSPort: 443}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	switch cfg.Status {
	case 301, 302, 303, 307, 308:
	default:
		return nil, spec.Config.Problem("status", "must be 301, 302, 303, 307 or 308, got "+strconv.Itoa(cfg.Status))
	}
	p := &Plugin{status: cfg.Status, https: cfg.HTTPS, keepQuery: cfg.KeepQuery}
	switch {
	case cfg.HTTPS && cfg.To != "":
		return nil, spec.Config.Problem("to", "https redirects to the request's own URL: set https or to, not both")
	case cfg.HTTPS && cfg.From != "":
		return nil, spec.Config.Problem("from", "https redirects every plain-HTTP request: use the route's paths to choose them")
	case !cfg.HTTPS && cfg.To == "":
		return nil, spec.Config.Problem("to", "needs a target (or https = true)")
	}
	if cfg.HTTPSPort < 1 || cfg.HTTPSPort > 65535 {
		return nil, spec.Config.Problem("https_port", "must be a port number, got "+strconv.Itoa(cfg.HTTPSPort))
	}
	if cfg.HTTPSPort != 443 {
		p.port = ":" + strconv.Itoa(cfg.HTTPSPort)
	}
	if cfg.HTTPS {
		return p, nil
	}
	if cfg.From != "" {
		re, err := regexp.Compile(cfg.From)
		if err != nil {
			return nil, spec.Config.Problem("from", err.Error())
		}
		p.from = re
	}
	if reason := checkTarget(cfg.To); reason != "" {
		return nil, spec.Config.Problem("to", reason)
	}
	to, err := template.Compile(cfg.To, template.Options{Regexp: p.from, Params: transformstep.RouteParams(spec),
		Escape: template.EscapePath})
	if err != nil {
		return nil, spec.Config.Problem("to", err.Error())
	}
	p.to = to
	p.relative = cfg.To[0] == '/' && !strings.HasPrefix(cfg.To, "//")
	p.fromReq = strings.Contains(cfg.To, "$(")
	if s, ok := to.Static(); ok {
		p.static = []byte(s)
	}
	return p, nil
}

// checkTarget returns why a target template may not be used, or "".
func checkTarget(to string) string {
	lower := strings.ToLower(to)
	abs := ""
	switch {
	case strings.HasPrefix(lower, "https://"):
		abs = to[len("https://"):]
	case strings.HasPrefix(lower, "http://"):
		abs = to[len("http://"):]
	case strings.HasPrefix(to, "//"):
		return `must start with "/" and a path, or with "http://" or "https://": not "//" (a scheme-relative URL)`
	case strings.HasPrefix(to, "/"):
	default:
		return `must start with "/" (a path) or with "http://" or "https://": ` + strconv.Quote(to)
	}
	if abs != "" || lower != strings.TrimPrefix(lower, "http") {
		host := abs
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		if host == "" {
			return "the URL has no host: " + strconv.Quote(to)
		}
		// A capture in the host would let the path choose where the client
		// goes (an open redirect): "/go/evil.com" with "https://$1/".
		for i := 0; i+1 < len(host); i++ {
			if host[i] == '$' && (host[i+1] >= '0' && host[i+1] <= '9' || host[i+1] == '{') {
				return "a capture in the host would let the request choose where it is redirected: " + strconv.Quote(to)
			}
		}
	}
	for _, bad := range []string{"$(request.path)", "$(request.query)"} {
		if strings.Contains(to, bad) {
			return bad + " would be percent-encoded whole in a URL: capture the path with from = \"^(.*)$\" and use $1, and keep the query with keep_query = true"
		}
	}
	return ""
}

// Answers implements plugin.Responder: a redirect of every request
// answers always; one with a regex, or of plain-HTTP requests only, lets
// the others through to the upstream.
func (p *Plugin) Answers() plugin.Answer {
	if p.https || p.from != nil {
		return plugin.AnswerMaybe
	}
	return plugin.AnswerAlways
}

var errBadHost = plugin.NewError(400, "invalid Host header")

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if p.https {
		return p.toHTTPS(c)
	}
	st := transformstep.AcquireState(c)
	defer transformstep.ReleaseState(st)
	var pathBuf [256]byte
	if p.from != nil {
		// The regex sees the path as it is written in a URL, so its
		// captures go into the target as they are.
		if !st.Match(p.from, transformstep.AppendPath(pathBuf[:0], c.Path())) {
			return nil
		}
	}
	var buf [512]byte
	loc := buf[:0]
	if p.static != nil {
		loc = append(loc, p.static...)
	} else {
		loc, _ = p.to.Expand(loc, st.Src, st.Captures)
	}
	if p.relative && len(loc) > 1 && (loc[1] == '/' || loc[1] == '\\') {
		// "/$1" with a capture starting with "/": a path, not "//host".
		i := 1
		for i < len(loc) && (loc[i] == '/' || loc[i] == '\\') {
			i++
		}
		loc = append(loc[:1], loc[i:]...)
	}
	if p.keepQuery {
		loc = appendQuery(loc, c.Request.URI().QueryString())
	}
	if p.fromReq {
		// A target that depends on more than the path and query (a
		// header, the host) is part of the cache key, or a cache step
		// after this one could serve one client's redirect to another.
		c.AddCacheKey(loc)
	}
	p.answer(c, loc)
	return nil
}

func (p *Plugin) answer(c *plugin.Context, loc []byte) {
	c.Respond(p.status, "text/plain; charset=utf-8", nil)
	c.Response.Header.SetBytesV("Location", loc)
}

func appendQuery(loc, q []byte) []byte {
	if len(q) == 0 {
		return loc
	}
	if bytes.IndexByte(loc, '?') >= 0 {
		loc = append(loc, '&')
	} else {
		loc = append(loc, '?')
	}
	return transformstep.AppendURLSafe(loc, q)
}

// toHTTPS redirects a plain-HTTP request to https, same host and path.
func (p *Plugin) toHTTPS(c *plugin.Context) error {
	if c.IsTLS() || p.forwardedHTTPS(c) {
		return nil
	}
	host, ok := hostName(c.Host())
	if !ok {
		return errBadHost
	}
	var buf [512]byte
	loc := append(buf[:0], "https://"...)
	loc = append(loc, host...)
	loc = append(loc, p.port...)
	loc = transformstep.AppendPath(loc, c.Path())
	if p.keepQuery {
		loc = appendQuery(loc, c.Request.URI().QueryString())
	}
	c.AddCacheKey(loc)
	p.answer(c, loc)
	return nil
}

// forwardedHTTPS reports whether a trusted proxy says the client used
// https (the last element of X-Forwarded-Proto: what the nearest proxy
// wrote).
func (p *Plugin) forwardedHTTPS(c *plugin.Context) bool {
	if !c.Trusted().Contains(c.RemoteAddr()) {
		return false
	}
	v := c.Request.Header.Peek("X-Forwarded-Proto")
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.EqualFold(bytes.TrimSpace(v), []byte("https"))
}

// hostName returns the host of a Host header without its port, if it is
// a valid DNS name or IP address: a redirect must not carry whatever a
// client wrote there into a Location.
func hostName(h []byte) ([]byte, bool) {
	if len(h) == 0 {
		return nil, false
	}
	if h[0] == '[' {
		end := bytes.IndexByte(h, ']')
		if end < 0 || !validPort(h[end+1:]) {
			return nil, false
		}
		if _, err := netip.ParseAddr(string(h[1:end])); err != nil {
			return nil, false
		}
		return h[:end+1], true
	}
	if i := bytes.LastIndexByte(h, ':'); i >= 0 {
		if !validPort(h[i:]) {
			return nil, false
		}
		h = h[:i]
	}
	if len(h) == 0 || len(h) > 253 {
		return nil, false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return nil, false
		}
	}
	return h, true
}

// validPort accepts "" or ":" followed by 1 to 5 digits.
func validPort(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	if p[0] != ':' || len(p) < 2 || len(p) > 6 {
		return false
	}
	for _, c := range p[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
