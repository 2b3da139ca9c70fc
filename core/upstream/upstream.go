package upstream

import (
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moongate/moongate/core/chain"
	"github.com/moongate/moongate/core/config"
	"github.com/valyala/fasthttp"
)

// Target is one server of an upstream, with its connection pool.
type Target struct {
	// URL is the target as configured, e.g. "http://10.0.0.5:8080".
	URL string
	// Addr is its host:port.
	Addr string
	// Weight is its configured share of the traffic.
	Weight int
	// Client is its keep-alive connection pool.
	Client *fasthttp.HostClient

	host   []byte // Host header value sent upstream
	scheme []byte // "http" or "https": fasthttp's client refuses a request whose scheme differs from its own
}

// Upstream is a named group of targets; it implements chain.Forwarder.
// It is immutable once built and safe for concurrent use.
type Upstream struct {
	name     string
	cfg      config.Upstream
	targets  []*Target
	balancer Balancer
	timeout  time.Duration

	adhocMu sync.Mutex
	adhoc   map[string]*Target // targets set per request (Context.SetTarget)
}

// maxAdhocTargets bounds the connection pools kept for targets chosen per
// request, so that a script cannot grow them without limit.
const maxAdhocTargets = 256

// Balancer picks the target for a request. Pick must be safe for
// concurrent use and should not allocate; nil means no target is
// available (the client gets 503).
type Balancer interface {
	Pick(c *chain.Context) *Target
}

// BalancerFactory builds a balancer over an upstream's targets.
type BalancerFactory func(targets []*Target, cfg *config.Upstream) (Balancer, error)

var (
	balancersMu sync.RWMutex
	balancers   = map[string]BalancerFactory{"round-robin": newRoundRobin}
)

// RegisterBalancer makes a balancer available under name (the value of
// balancer = "..."). A duplicate name panics.
func RegisterBalancer(name string, f BalancerFactory) {
	balancersMu.Lock()
	defer balancersMu.Unlock()
	if _, dup := balancers[name]; dup {
		panic("upstream: balancer " + name + " registered twice")
	}
	balancers[name] = f
}

func balancerNames() []string {
	var out []string
	for n := range balancers {
		out = append(out, n)
	}
	return out
}

// New builds an upstream from its configuration; path is its key path
// (upstreams[0]) for error messages.
func New(cfg *config.Upstream, path string, file *config.Config) (*Upstream, error) {
	u := &Upstream{name: cfg.Name, cfg: *cfg, timeout: cfg.Timeout.Std()}
	for i, tc := range cfg.Targets {
		t, err := newTarget(tc, cfg)
		if err != nil {
			return nil, file.Problem(path+".targets["+strconv.Itoa(i)+"].url", err.Error())
		}
		u.targets = append(u.targets, t)
	}
	balancersMu.RLock()
	f, ok := balancers[cfg.Balancer]
	balancersMu.RUnlock()
	if !ok {
		return nil, file.Problem(path+".balancer", "unknown balancer "+strconv.Quote(cfg.Balancer)+" (known: "+strings.Join(balancerNames(), ", ")+")")
	}
	b, err := f(u.targets, cfg)
	if err != nil {
		return nil, file.Problem(path+".balancer", err.Error())
	}
	u.balancer = b
	return u, nil
}

func newTarget(tc config.Target, cfg *config.Upstream) (*Target, error) {
	if reason := config.CheckTargetURL(tc.URL); reason != "" {
		return nil, errors.New(reason)
	}
	x, err := url.Parse(tc.URL)
	if err != nil {
		return nil, err
	}
	isTLS := x.Scheme == "https"
	addr := x.Host
	if x.Port() == "" {
		port := "80"
		if isTLS {
			port = "443"
		}
		addr = net.JoinHostPort(x.Hostname(), port)
	}
	connectTimeout := cfg.ConnectTimeout.Std()
	hc := &fasthttp.HostClient{
		Addr:                          addr,
		NoDefaultUserAgentHeader:      true,
		IsTLS:                         isTLS,
		MaxConns:                      cfg.MaxConnections,
		MaxIdleConnDuration:           cfg.IdleTimeout.Std(),
		MaxResponseBodySize:           cfg.MaxResponseSize.Int(),
		ReadTimeout:                   cfg.Timeout.Std(),
		WriteTimeout:                  cfg.Timeout.Std(),
		DisableHeaderNamesNormalizing: false,
		DisablePathNormalizing:        false,
		// A stale pooled connection is retried once on a fresh one; other
		// retries are the upstream's retry policy, not the pool's.
		MaxIdemponentCallAttempts: 2,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			if connectTimeout < timeout {
				timeout = connectTimeout
			}
			return fasthttp.DialTimeout(addr, timeout)
		},
	}
	if isTLS {
		hc.TLSConfig = &tls.Config{ServerName: x.Hostname(), MinVersion: tls.VersionTLS12}
	}
	return &Target{URL: tc.URL, Addr: addr, Weight: tc.Weight, Client: hc, host: []byte(x.Host), scheme: []byte(x.Scheme)}, nil
}

// Name returns the upstream's name.
func (u *Upstream) Name() string { return u.name }

// Targets returns the upstream's targets; callers must not modify them.
func (u *Upstream) Targets() []*Target { return u.targets }

// adhocTarget returns the pooled target for a URL set per request.
func (u *Upstream) adhocTarget(url string) (*Target, error) {
	u.adhocMu.Lock()
	defer u.adhocMu.Unlock()
	if t, ok := u.adhoc[url]; ok {
		return t, nil
	}
	t, err := newTarget(config.Target{URL: url, Weight: 1}, &u.cfg)
	if err != nil {
		return nil, err
	}
	if u.adhoc == nil || len(u.adhoc) >= maxAdhocTargets {
		for _, old := range u.adhoc {
			old.Client.CloseIdleConnections()
		}
		u.adhoc = map[string]*Target{}
	}
	u.adhoc[url] = t
	return t, nil
}

// Close closes the idle connections of every target; in-flight requests
// finish on theirs.
func (u *Upstream) Close() {
	for _, t := range u.targets {
		t.Client.CloseIdleConnections()
	}
	u.adhocMu.Lock()
	for _, t := range u.adhoc {
		t.Client.CloseIdleConnections()
	}
	u.adhocMu.Unlock()
}

var (
	errNoTarget    = &chain.Error{Status: 503, Message: "no upstream target available"}
	msgUnreachable = "upstream unreachable"
	msgTimeout     = "upstream timed out"
	msgBadResponse = "bad response from upstream"
)

// Forward sends c.Request to a target picked by the balancer and stores the
// answer in c.Response.
func (u *Upstream) Forward(c *chain.Context) error {
	var t *Target
	if url := c.Target(); url != "" {
		var err error
		if t, err = u.adhocTarget(url); err != nil {
			return &chain.Error{Status: 502, Message: "invalid target", Err: err}
		}
	} else if t = u.balancer.Pick(c); t == nil {
		return errNoTarget
	}
	req := c.Request
	closeAfter := req.Header.ConnectionClose()
	prepareRequest(c, t)
	err := t.Client.DoTimeout(req, c.Response, u.timeout)
	if closeAfter {
		c.Response.SetConnectionClose()
	}
	if err != nil {
		return classify(err)
	}
	cleanResponse(&c.Response.Header, closeAfter)
	return nil
}

// classify maps a client error to the status the client sees; the cause is
// kept for the log, never shown.
func classify(err error) *chain.Error {
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrTLSHandshakeTimeout):
		return &chain.Error{Status: 504, Message: msgTimeout, Err: err}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &chain.Error{Status: 504, Message: msgTimeout, Err: err}
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return &chain.Error{Status: 502, Message: msgBadResponse, Err: err}
	}
	return &chain.Error{Status: 502, Message: msgUnreachable, Err: err}
}
