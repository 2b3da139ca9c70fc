package forwardauth

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/authstep"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

func init() { plugin.Register("forward-auth", New) }

// Config is the plugin's TOML table.
type Config struct {
	// URL is the authentication service, http:// or https://. Required.
	URL string `toml:"url"`
	// Method is the method of the call. Default "GET".
	Method string `toml:"method"`
	// Timeout bounds the call. Default "2s".
	Timeout config.Duration `toml:"timeout"`
	// RequestHeaders are client headers sent to the service. Default
	// ["Authorization", "Cookie"].
	RequestHeaders []string `toml:"request_headers"`
	// UpstreamHeaders are headers of a positive answer copied into the
	// request sent upstream. Default: none.
	UpstreamHeaders []string `toml:"upstream_headers"`
	// ClientHeaders are headers of a refusal copied to the client.
	// Default ["WWW-Authenticate", "Location"].
	ClientHeaders []string `toml:"client_headers"`
	// ConsumerHeader is a header of a positive answer naming the
	// consumer. Default "": no consumer is set.
	ConsumerHeader string `toml:"consumer_header"`
	// GroupsHeader is a header of a positive answer with the consumer's
	// groups, comma-separated. Default "".
	GroupsHeader string `toml:"groups_header"`
	// CacheTTL remembers positive answers this long. Default "0s": off.
	CacheTTL config.Duration `toml:"cache_ttl"`
	// MaxBody bounds the body of a refusal relayed to the client. Default "64KB".
	MaxBody config.Size `toml:"max_body"`
}

// Plugin is an instance of forward-auth.
type Plugin struct {
	url, method string
	timeout     time.Duration
	client      *fasthttp.Client
	reqHeaders  []string
	upHeaders   []string
	cliHeaders  []string
	consumerHdr string
	groupsHdr   string
	reg         *consumer.Registry
	identity    *authstep.Identity
	cache       *store.Namespace
	ttl         time.Duration
	maxBody     int
	errTimeout  *plugin.Error
	errFailed   *plugin.Error
}

var _ plugin.RequestHandler = (*Plugin)(nil)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Method: "GET", Timeout: config.Duration(2 * time.Second),
		RequestHeaders: []string{"Authorization", "Cookie"}, ClientHeaders: []string{"WWW-Authenticate", "Location"},
		MaxBody: 64 << 10}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	prob := spec.Config.Problem
	u, err := url.Parse(cfg.URL)
	if cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, prob("url", `must be an http:// or https:// URL, got `+strconv.Quote(cfg.URL))
	}
	if cfg.Timeout == 0 {
		return nil, prob("timeout", "must be more than 0s")
	}
	for _, l := range []struct {
		key   string
		names []string
	}{{"request_headers", cfg.RequestHeaders}, {"upstream_headers", cfg.UpstreamHeaders}, {"client_headers", cfg.ClientHeaders},
		{"consumer_header", nonEmpty(cfg.ConsumerHeader)}, {"groups_header", nonEmpty(cfg.GroupsHeader)}} {
		for _, n := range l.names {
			if !config.IsToken(n) {
				return nil, prob(l.key, "invalid header name "+strconv.Quote(n))
			}
		}
	}
	p := &Plugin{url: cfg.URL, method: strings.ToUpper(cfg.Method), timeout: cfg.Timeout.Std(),
		client: &fasthttp.Client{ReadTimeout: cfg.Timeout.Std(), WriteTimeout: cfg.Timeout.Std(),
			MaxResponseBodySize: int(cfg.MaxBody) + 1<<10, NoDefaultUserAgentHeader: true, Name: "moongate-forward-auth"},
		reqHeaders: cfg.RequestHeaders, upHeaders: cfg.UpstreamHeaders, cliHeaders: cfg.ClientHeaders,
		consumerHdr: cfg.ConsumerHeader, groupsHdr: cfg.GroupsHeader, reg: spec.Consumers(),
		ttl: cfg.CacheTTL.Std(), maxBody: int(cfg.MaxBody),
		errTimeout: plugin.NewError(503, "authentication service unavailable"),
		errFailed:  plugin.NewError(502, "authentication service failed")}
	auth := config.DefaultAuth()
	if gc := spec.Settings(); gc != nil {
		auth = gc.Auth
	}
	p.identity = authstep.NewIdentity(auth, cfg.UpstreamHeaders...)
	if p.ttl > 0 {
		// The namespace is per step and service, so a reload that changes
		// the service does not reuse the old one's answers.
		p.cache = spec.Namespace("forward-auth:" + spec.Path + ":" + cfg.URL)
	}
	return p, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	p.identity.StripFor(c)
	var key [32]byte
	if p.cache != nil {
		key = p.cacheKey(c)
		if v, ok := p.cache.Get(nil, key[:]); ok {
			return p.pass(c, decode(v))
		}
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(p.url)
	req.Header.SetMethod(p.method)
	for _, h := range p.reqHeaders {
		for _, v := range c.Request.Header.PeekAll(h) {
			req.Header.AddBytesV(h, v)
		}
	}
	req.Header.SetBytesV("X-Forwarded-Method", c.Method())
	req.Header.SetBytesV("X-Forwarded-Uri", c.Request.URI().RequestURI())
	req.Header.SetBytesV("X-Forwarded-Host", c.Host())
	req.Header.Set("X-Forwarded-Proto", c.Scheme())
	if ip := c.ClientIP(); ip.IsValid() {
		req.Header.Set("X-Forwarded-For", ip.String())
	}
	if err := p.client.DoTimeout(req, resp, p.timeout); err != nil {
		// Unreachable or too slow: fail closed.
		return &plugin.Error{Status: 503, Message: p.errTimeout.Message, Err: err}
	}
	status := resp.StatusCode()
	switch {
	case status >= 200 && status < 300:
		var a answer
		for _, h := range p.upHeaders {
			if v := resp.Header.Peek(h); v != nil && config.IsHeaderValue(string(v)) {
				a.headers = append(a.headers, [2]string{h, string(v)})
			}
		}
		if p.consumerHdr != "" {
			if v := resp.Header.Peek(p.consumerHdr); len(v) > 0 && len(v) < 256 && config.IsHeaderValue(string(v)) {
				a.consumer = string(v)
				if p.groupsHdr != "" {
					a.groups = string(resp.Header.Peek(p.groupsHdr))
				}
			}
		}
		if p.cache != nil {
			p.cache.Set(key[:], a.encode(), p.ttl)
		}
		return p.pass(c, a)
	case status >= 500:
		return &plugin.Error{Status: 502, Message: p.errFailed.Message, Err: errors.New("authentication service answered " + strconv.Itoa(status))}
	}
	// A refusal (or a redirect to a login page) is the client's answer.
	body := resp.Body()
	if len(body) > p.maxBody {
		body = nil
	}
	c.Response.Reset()
	c.Response.SetStatusCode(status)
	if ct := resp.Header.ContentType(); len(ct) > 0 && body != nil {
		c.Response.Header.SetContentTypeBytes(ct)
	}
	c.Response.SetBody(body)
	if body == nil || status == 403 && len(body) == 0 {
		c.Error(status, statusMessage(status))
	}
	for _, h := range p.cliHeaders {
		for _, v := range resp.Header.PeekAll(h) {
			if config.IsHeaderValue(string(v)) {
				c.Response.Header.AddBytesV(h, v)
			}
		}
	}
	c.Stop()
	return nil
}

func statusMessage(status int) string {
	switch status {
	case 401:
		return "authentication required"
	case 403:
		return "access denied"
	}
	return "refused by the authentication service"
}

// answer is a positive answer: what goes upstream.
type answer struct {
	headers          [][2]string
	consumer, groups string
}

func (p *Plugin) pass(c *plugin.Context, a answer) error {
	for _, h := range a.headers {
		c.Request.Header.Set(h[0], h[1])
	}
	if a.consumer != "" {
		cons := &consumer.Consumer{Name: a.consumer, CredentialID: "forward-auth"}
		if known := p.reg.Consumer(a.consumer); known != nil {
			cons.Groups = known.Groups
		} else if a.groups != "" {
			for _, g := range strings.Split(a.groups, ",") {
				if g = strings.TrimSpace(g); g != "" {
					cons.Groups = append(cons.Groups, g)
				}
			}
		}
		c.Consumer = cons
		p.identity.Set(c, cons)
	}
	return nil
}

// cacheKey digests what the answer may depend on.
func (p *Plugin) cacheKey(c *plugin.Context) [32]byte {
	h := sha256.New()
	h.Write(c.Method())
	h.Write([]byte{0})
	h.Write(c.Request.URI().RequestURI())
	h.Write([]byte{0})
	h.Write(c.Host())
	for _, name := range p.reqHeaders {
		h.Write([]byte{0})
		h.Write([]byte(name))
		for _, v := range c.Request.Header.PeekAll(name) {
			h.Write([]byte{1})
			h.Write(v)
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// encode writes an answer as NUL-separated fields: consumer, groups, then
// header name and value pairs.
func (a answer) encode() []byte {
	var b bytes.Buffer
	b.WriteString(a.consumer)
	b.WriteByte(0)
	b.WriteString(a.groups)
	for _, h := range a.headers {
		b.WriteByte(0)
		b.WriteString(h[0])
		b.WriteByte(0)
		b.WriteString(h[1])
	}
	return b.Bytes()
}

func decode(v []byte) answer {
	parts := strings.Split(string(v), "\x00")
	var a answer
	if len(parts) >= 2 {
		a.consumer, a.groups = parts[0], parts[1]
		for i := 2; i+1 < len(parts); i += 2 {
			a.headers = append(a.headers, [2]string{parts[i], parts[i+1]})
		}
	}
	return a
}
