package aiproxy

import (
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// apiKind is the API a client or a provider speaks.
type apiKind uint8

const (
	kindOpenAI apiKind = iota + 1
	kindAnthropic
)

func (k apiKind) String() string {
	if k == kindAnthropic {
		return "anthropic"
	}
	return "openai"
}

// provider is one configured provider: where its API is, its keys, its
// timeouts and its connection pool. It is safe for concurrent use.
type provider struct {
	name    string
	typ     string
	kind    apiKind
	client  *fasthttp.HostClient
	keys    *keyPool
	headers [][2]string

	// base is the base URL without a trailing slash.
	base string
	// chatURL and embedURL are the endpoints' URLs; for azure-openai they
	// depend on the deployment (see urlFor).
	chatURL, embedURL string
	apiVersion        string
	deployments       map[string]string
	azureURLs         sync.Map // deployment+"\x00"+endpoint → URL

	anthropicVersion    string
	maxCompletionTokens bool
	firstByte, idle     time.Duration
}

// newProvider builds a provider from its checked configuration.
func newProvider(pc *ProviderConfig, maxResponse int) *provider {
	u, _ := url.Parse(pc.BaseURL) // checked
	base := strings.TrimSuffix(pc.BaseURL, "/")
	p := &provider{
		name: pc.Name, typ: pc.Type, kind: kindOpenAI, base: base,
		keys:       newKeyPool(pc.Name, pc.Keys),
		apiVersion: pc.APIVersion, deployments: pc.Deployments,
		anthropicVersion: pc.AnthropicVersion, maxCompletionTokens: pc.MaxCompletionTokens,
		firstByte: pc.FirstByteTimeout.Std(), idle: pc.IdleTimeout.Std(),
	}
	for _, h := range sortedMapKeys(pc.Headers) {
		p.headers = append(p.headers, [2]string{h, pc.Headers[h]})
	}
	switch pc.Type {
	case typeAnthropic:
		p.kind = kindAnthropic
		// The SDK's base URL has no version; "/v1" at the end is taken too.
		p.chatURL = strings.TrimSuffix(base, "/v1") + "/v1/messages"
	case typeAzure:
	default:
		p.chatURL = base + "/chat/completions"
		p.embedURL = base + "/embeddings"
	}
	tls := u.Scheme == "https"
	connect := pc.ConnectTimeout.Std()
	idle := p.idle
	p.client = &fasthttp.HostClient{
		Addr:  fasthttp.AddMissingPort(u.Host, tls),
		IsTLS: tls,
		Name:  "moongate",
		// The timeouts are the provider's own: connect here, first byte
		// per request (DoTimeout), idle per read of a stream (provConn).
		DialTimeout: func(addr string, _ time.Duration) (net.Conn, error) {
			c, err := fasthttp.DialTimeout(addr, connect)
			if err != nil {
				return nil, err
			}
			return &provConn{Conn: c, idleTimeout: idle}, nil
		},
		MaxConns:            pc.MaxConnections,
		MaxConnWaitTimeout:  connect,
		MaxIdleConnDuration: 10 * time.Second,
		MaxResponseBodySize: maxResponse,
		// The gateway's attempts decide what is sent again: fasthttp
		// must not resend a POST by itself.
		MaxIdemponentCallAttempts: 1,
		DisablePathNormalizing:    true,
		NoDefaultUserAgentHeader:  true,
		SecureErrorLogMessage:     true,
		ReadBufferSize:            16 << 10,
	}
	return p
}

// urlFor returns the URL of endpoint ep for the provider model.
func (p *provider) urlFor(ep endpoint, model string) string {
	if p.typ != typeAzure {
		if ep == epEmbeddings {
			return p.embedURL
		}
		return p.chatURL
	}
	dep := model
	if d, ok := p.deployments[model]; ok {
		dep = d
	}
	key := dep + "\x00" + ep.suffix()
	if u, ok := p.azureURLs.Load(key); ok {
		return u.(string)
	}
	u := p.base + "/openai/deployments/" + url.PathEscape(dep) + ep.suffix() + "?api-version=" + url.QueryEscape(p.apiVersion)
	p.azureURLs.Store(key, u)
	return u
}

// setAuth sets the provider's authentication header for key k (nil for a
// provider without keys) on req.
func (p *provider) setAuth(req *fasthttp.Request, k *poolKey) {
	if k == nil {
		return
	}
	switch p.typ {
	case typeAnthropic:
		req.Header.Set("x-api-key", k.value)
	case typeAzure:
		req.Header.Set("api-key", k.value)
	default:
		req.Header.Set("Authorization", k.bearer)
	}
}

// close releases the provider's idle connections.
func (p *provider) close() { p.client.CloseIdleConnections() }

// provConn is a connection to a provider. While an answer streams
// (streaming set), every read waits at most idleTimeout: the silence
// allowed between two events. Before that, reads keep the deadline
// fasthttp set for the answer's head (the first-byte timeout). Its
// LocalAddr carries the connection itself, so that the request that got
// an answer on it can find it (Response.LocalAddr).
type provConn struct {
	net.Conn
	idleTimeout time.Duration
	streaming   atomic.Bool
}

// Read implements net.Conn.
func (c *provConn) Read(p []byte) (int, error) {
	if c.streaming.Load() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.idleTimeout))
	}
	return c.Conn.Read(p)
}

// LocalAddr implements net.Conn.
func (c *provConn) LocalAddr() net.Addr { return connAddr{Addr: c.Conn.LocalAddr(), conn: c} }

// connAddr is a provConn's local address, with the connection.
type connAddr struct {
	net.Addr
	conn *provConn
}

// connOf returns the provConn an answer came on, nil when unknown.
func connOf(resp *fasthttp.Response) *provConn {
	if a, ok := resp.LocalAddr().(connAddr); ok {
		return a.conn
	}
	return nil
}
