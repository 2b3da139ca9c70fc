package cors

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("cors", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Origins are exact origins ("https://app.example.com"), or ["*"] for
	// any (not with credentials). Default: none.
	Origins []string `toml:"origins"`
	// OriginPatterns are origins where "*" stands for one DNS label:
	// "https://*.example.com". Default: none.
	OriginPatterns []string `toml:"origin_patterns"`
	// Methods are the methods allowed cross-origin. Default GET, HEAD,
	// POST, PUT, PATCH, DELETE.
	Methods []string `toml:"methods"`
	// Headers are the request headers allowed; ["*"] allows any.
	// Default Accept, Accept-Language, Authorization, Content-Language,
	// Content-Type, X-Requested-With.
	Headers []string `toml:"headers"`
	// ExposeHeaders are response headers scripts may read. Default: none.
	ExposeHeaders []string `toml:"expose_headers"`
	// Credentials allows cookies and Authorization cross-origin. Default false.
	Credentials bool `toml:"credentials"`
	// MaxAge is how long browsers may cache a preflight. Default "10m".
	MaxAge config.Duration `toml:"max_age"`
}

type pattern struct {
	scheme, suffix string // "https://", ".example.com" (with any port part)
}

// Plugin is an instance of cors.
type Plugin struct {
	any         bool
	origins     map[string]bool
	patterns    []pattern
	methods     map[string]bool
	methodsHdr  string
	headers     map[string]bool
	anyHeader   bool
	headersHdr  string
	expose      string
	credentials bool
	maxAge      string
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)

	errPreflight = plugin.NewError(403, "CORS preflight refused")
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Methods: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"},
		Headers: []string{"Accept", "Accept-Language", "Authorization", "Content-Language", "Content-Type", "X-Requested-With"},
		MaxAge:  config.Duration(600e9)}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	prob := spec.Config.Problem
	p := &Plugin{origins: map[string]bool{}, methods: map[string]bool{}, headers: map[string]bool{},
		credentials: cfg.Credentials, maxAge: strconv.FormatInt(int64(cfg.MaxAge.Std().Seconds()), 10)}
	if len(cfg.Origins) == 0 && len(cfg.OriginPatterns) == 0 {
		return nil, prob("origins", "needs origins or origin_patterns")
	}
	for i, o := range cfg.Origins {
		key := "origins[" + strconv.Itoa(i) + "]"
		if o == "*" {
			if cfg.Credentials {
				return nil, prob(key, `"*" cannot be used with credentials = true: list the origins`)
			}
			p.any = true
			continue
		}
		n, ok := normalize(o)
		if !ok {
			return nil, prob(key, `must be an origin such as "https://app.example.com" (scheme, host, optional port; no path), got `+strconv.Quote(o))
		}
		p.origins[n] = true
	}
	for i, o := range cfg.OriginPatterns {
		key := "origin_patterns[" + strconv.Itoa(i) + "]"
		scheme, rest, ok := strings.Cut(strings.ToLower(o), "://")
		if !ok || (scheme != "http" && scheme != "https") || !strings.HasPrefix(rest, "*.") || strings.Count(rest, "*") != 1 {
			return nil, prob(key, `must look like "https://*.example.com", got `+strconv.Quote(o))
		}
		if _, ok := normalize(scheme + "://x" + rest[1:]); !ok || strings.Count(rest, ".") < 2 {
			return nil, prob(key, `needs a domain of at least two labels after "*.", got `+strconv.Quote(o))
		}
		p.patterns = append(p.patterns, pattern{scheme: scheme + "://", suffix: rest[1:]})
	}
	for i, m := range cfg.Methods {
		if m == "" || strings.ToUpper(m) != m {
			return nil, prob("methods["+strconv.Itoa(i)+"]", "must be an upper-case method, got "+strconv.Quote(m))
		}
		p.methods[m] = true
	}
	p.methodsHdr = strings.Join(cfg.Methods, ", ")
	var hs []string
	for _, h := range cfg.Headers {
		if h == "*" {
			p.anyHeader = true
			continue
		}
		p.headers[strings.ToLower(h)] = true
		hs = append(hs, h)
	}
	p.headersHdr = strings.Join(hs, ", ")
	p.expose = strings.Join(cfg.ExposeHeaders, ", ")
	return p, nil
}

// normalize returns an origin in the form browsers send it: lower-case
// scheme and host, no default port, no path.
func normalize(o string) (string, bool) {
	o = strings.ToLower(o)
	scheme, host, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") || host == "" || strings.ContainsAny(host, "/?#@ *") {
		return "", false
	}
	if h, port, found := strings.Cut(host, ":"); found && !strings.HasPrefix(host, "[") {
		if _, err := strconv.Atoi(port); err != nil || h == "" {
			return "", false
		}
		if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
			host = h
		}
	}
	return scheme + "://" + host, true
}

// allowed reports whether the Origin header value matches the lists.
// Browsers send origins in lower case; anything else never matches.
func (p *Plugin) allowed(origin []byte) bool {
	if len(origin) == 0 || string(origin) == "null" {
		return false
	}
	if p.origins[string(origin)] {
		return true
	}
	for _, pt := range p.patterns {
		if len(origin) <= len(pt.scheme)+len(pt.suffix) || string(origin[:len(pt.scheme)]) != pt.scheme ||
			string(origin[len(origin)-len(pt.suffix):]) != pt.suffix {
			continue
		}
		label := origin[len(pt.scheme) : len(origin)-len(pt.suffix)]
		if validLabel(label) {
			return true
		}
	}
	return p.any
}

func validLabel(b []byte) bool {
	if len(b) == 0 || len(b) > 63 || b[0] == '-' || b[len(b)-1] == '-' {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

const valueKey = "cors.origin"

var (
	allowedMark   = &struct{ byte }{}
	preflightMark = &struct{ byte }{}
)

// OnRequest implements plugin.RequestHandler: preflights are answered
// here; other requests are marked for the response phase.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	h := &c.Request.Header
	origin := h.Peek("Origin")
	if len(origin) == 0 {
		return nil
	}
	ok := p.allowed(origin)
	reqMethod := h.Peek("Access-Control-Request-Method")
	if string(h.Method()) == "OPTIONS" && len(reqMethod) > 0 {
		if !ok || !p.methods[string(reqMethod)] || !p.headersAllowed(h.Peek("Access-Control-Request-Headers")) {
			c.Error(errPreflight.Status, errPreflight.Message)
			c.Response.Header.Add("Vary", "Origin")
			return nil
		}
		c.Respond(204, "", nil)
		c.SetValue(valueKey, preflightMark)
		r := &c.Response.Header
		p.allowOrigin(c, origin)
		r.Set("Access-Control-Allow-Methods", p.methodsHdr)
		if p.anyHeader {
			if req := h.Peek("Access-Control-Request-Headers"); len(req) > 0 {
				r.SetBytesV("Access-Control-Allow-Headers", req)
			}
		} else if p.headersHdr != "" {
			r.Set("Access-Control-Allow-Headers", p.headersHdr)
		}
		r.Set("Access-Control-Max-Age", p.maxAge)
		r.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
		return nil
	}
	if ok {
		c.SetValue(valueKey, allowedMark)
	}
	return nil
}

func (p *Plugin) headersAllowed(list []byte) bool {
	if p.anyHeader {
		return true
	}
	for len(list) > 0 {
		i := bytes.IndexByte(list, ',')
		if i < 0 {
			i = len(list)
		}
		name := bytes.TrimSpace(list[:i])
		if len(name) > 0 && !p.headers[strings.ToLower(string(name))] {
			return false
		}
		if i == len(list) {
			break
		}
		list = list[i+1:]
	}
	return true
}

func (p *Plugin) allowOrigin(c *plugin.Context, origin []byte) {
	r := &c.Response.Header
	if p.any && !p.credentials && !p.origins[string(origin)] {
		r.Set("Access-Control-Allow-Origin", "*")
	} else {
		r.SetBytesV("Access-Control-Allow-Origin", origin)
	}
	if p.credentials {
		r.Set("Access-Control-Allow-Credentials", "true")
	}
	addVary(c)
}

func addVary(c *plugin.Context) {
	r := &c.Response.Header
	for k, v := range r.All() {
		if len(k) == 4 && bytes.EqualFold(k, []byte("Vary")) && (containsFold(v, "origin") || bytes.Equal(v, []byte("*"))) {
			return
		}
	}
	r.Add("Vary", "Origin")
}

// containsFold reports whether sub (lower case) is in b, in any case.
func containsFold(b []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if bytes.EqualFold(b[i:i+len(sub)], []byte(sub)) {
			return true
		}
	}
	return false
}

// OnResponse implements plugin.ResponseHandler: the gateway's CORS
// headers replace any the upstream sent.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	mark := c.Value(valueKey)
	if mark == preflightMark {
		return nil
	}
	r := &c.Response.Header
	r.Del("Access-Control-Allow-Origin")
	r.Del("Access-Control-Allow-Credentials")
	if mark != allowedMark {
		addVary(c)
		return nil
	}
	p.allowOrigin(c, c.Request.Header.Peek("Origin"))
	if p.expose != "" {
		r.Set("Access-Control-Expose-Headers", p.expose)
	}
	return nil
}
