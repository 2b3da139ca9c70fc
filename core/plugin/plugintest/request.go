package plugintest

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/realip"
	"github.com/valyala/fasthttp"
)

// Request is a client's request as the chain gets it: read by the
// gateway's server, its path normalized, its route matched. The zero
// Request is "GET /" for host example.com from 192.0.2.10.
type Request struct {
	// Method is the request method. Default "GET".
	Method string
	// URL is the request target: a path and an optional query,
	// "/users/42?verbose=1". Default "/".
	URL string
	// Host is the Host header. Default "example.com".
	Host string
	// Header holds name, value pairs, in order; a name may repeat.
	Header []string
	// Body is the request body, read whole as the gateway reads bodies up
	// to [server] buffer_body_size.
	Body string
	// Stream makes the body stream to the upstream as it arrives, with no
	// Content-Length (a chunked body larger than buffer_body_size):
	// c.RequestBody reports it streamed, and c.LimitRequestBody applies
	// to it; a Chain's upstream reads it and answers 413 past the limit,
	// as the gateway's does.
	Stream bool
	// RemoteAddr is the address of the peer connected to the gateway,
	// "203.0.113.7" or "203.0.113.7:5000". Default "192.0.2.10:40000".
	RemoteAddr string
	// TrustedProxies are the addresses or CIDRs whose X-Forwarded-For is
	// believed (c.ClientIP). Default: none for ContextFor; a Chain's
	// configuration's [server] trusted_proxies for Chain.Do.
	TrustedProxies []string
	// Consumer is set on the context as if an earlier authentication
	// step had authenticated it; nil: none.
	Consumer *consumer.Consumer
	// Params are the route's path parameters ("/users/{id}": "id").
	Params map[string]string
}

// requestCtx returns a fasthttp request context holding r.
func (r Request) requestCtx() *fasthttp.RequestCtx {
	var req fasthttp.Request
	method, url, host := r.Method, r.URL, r.Host
	if method == "" {
		method = fasthttp.MethodGet
	}
	if url == "" {
		url = "/"
	}
	if host == "" {
		host = "example.com"
	}
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	req.Header.SetHost(host)
	if len(r.Header)%2 != 0 {
		panic("plugintest: Request.Header needs name, value pairs")
	}
	for i := 0; i < len(r.Header); i += 2 {
		req.Header.Add(r.Header[i], r.Header[i+1])
	}
	if r.Body != "" && !r.Stream {
		req.SetBodyString(r.Body)
	}
	fc := &fasthttp.RequestCtx{}
	fc.Init(&req, net.TCPAddrFromAddrPort(remoteAddr(r.RemoteAddr)), nil)
	if r.Stream {
		fc.Request.SetBodyStream(&stream{r: strings.NewReader(r.Body)}, -1)
	}
	return fc
}

// remoteAddr parses a Request's RemoteAddr.
func remoteAddr(s string) netip.AddrPort {
	if s == "" {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 10}), 40000)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		panic("plugintest: Request.RemoteAddr " + s + " is not an IP address")
	}
	return netip.AddrPortFrom(a, 40000)
}

// trustedProxies parses addresses or CIDRs.
func trustedProxies(list []string) (*realip.Trusted, error) {
	prefixes := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := config.ParsePrefix(s)
		if err != nil {
			return nil, errors.New("plugintest: trusted proxy " + s + " is not an IP address or CIDR")
		}
		prefixes = append(prefixes, p)
	}
	return realip.NewTrusted(prefixes), nil
}

// apply sets what r says of the request's context on c.
func (r Request) apply(c *reqctx.Context) {
	c.Consumer = r.Consumer
	names := make([]string, 0, len(r.Params))
	for k := range r.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c.Params.Set(k, []byte(r.Params[k]))
	}
}

// ContextFor returns a Context for r outside any chain, as the gateway
// has it before routing: no route, no upstream, the process logger
// (slog.Default). Call a step's handlers on it directly, as benchmarks
// do; release it with Release. A Context is cheap to reuse: a step that
// changes it (a header set, a consumer) changes it for the next call.
func ContextFor(r Request) *plugin.Context {
	trusted, err := trustedProxies(r.TrustedProxies)
	if err != nil {
		panic(err)
	}
	c := reqctx.Acquire(r.requestCtx())
	c.Setup(nil, -1, trusted, nil, nil)
	r.apply(c)
	return (*plugin.Context)(c)
}

// errTooLarge is what a streamed body returns past its limit.
var errTooLarge = errors.New("request body larger than its limit")

// stream is a request body streamed to the upstream, with a limit that
// c.LimitRequestBody lowers, as the gateway's streamed bodies have.
type stream struct {
	r      io.Reader
	limit  int64
	read   int64
	tooBig bool
}

func (s *stream) Read(p []byte) (int, error) {
	if s.tooBig {
		return 0, errTooLarge
	}
	n, err := s.r.Read(p)
	s.read += int64(n)
	if s.limit > 0 && s.read > s.limit {
		s.tooBig = true
		return n, errTooLarge
	}
	return n, err
}

// Limit lowers the most bytes the body may have.
func (s *stream) Limit(n int64) {
	if s.limit <= 0 || n < s.limit {
		s.limit = n
	}
}
