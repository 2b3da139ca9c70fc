package plugintest

import (
	"errors"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

// File is the file name Build gives the configuration in problems:
// "test.toml:5: plugins[0].config.status: must be between 100 and 599".
const File = "test.toml"

// Build builds a chain from a configuration written as in moongate.toml:
// its [[plugins]] steps, and whatever they need besides ([[consumers]],
// [auth], [lua], [server] trusted_proxies). With one [[routes]] table,
// the chain is that route's, as the gateway builds it (the global steps
// merged with the route's own); its paths, upstream, strip_prefix and
// rewrite are not used. The chain has its own shared store and keeps
// what is logged (Chain.Logs), and its upstream answers every request
// with 200 and no body (Reply{}) until SetUpstream changes it.
//
// Problems with the configuration are returned as config.Problems, each
// as `moongate validate` prints it, in File:
//
//	test.toml:4: plugins[0].config.greting: unknown key (did you mean "greeting"?)
func Build(toml string) (*Chain, error) {
	cfg, err := config.Parse(File, []byte(toml))
	if err != nil {
		return nil, err
	}
	switch len(cfg.Routes) {
	case 0:
		cfg.Routes = []config.Route{{Name: "test", Paths: []string{"/"}}}
	case 1:
		if cfg.Routes[0].Name == "" {
			cfg.Routes[0].Name = "test"
		}
	default:
		return nil, errors.New("plugintest: a chain is built from at most one [[routes]] table")
	}
	trusted, err := trustedProxies(cfg.Server.TrustedProxies)
	if err != nil {
		return nil, err
	}
	return build(cfg, store.New(store.MinSize), nil, Reply{}, nil, trusted)
}

// New is Build for tests: it fails t at once with the problems, and
// closes the chain when t ends.
func New(t TB, toml string) *Chain {
	t.Helper()
	ch, err := Build(toml)
	if err != nil {
		t.Fatalf("plugintest: building the chain:\n%v", err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// Result is what one request did in a chain, copied out of its Context
// once the request was over.
type Result struct {
	// Response is the response the client gets (a copy).
	Response *fasthttp.Response
	// Status and Body are the Response's.
	Status int
	Body   string
	// Stopped reports whether the request phase was cut short: a step
	// answered or refused the request (or failed), so the steps after it
	// and the upstream were not called (Sent is nil).
	Stopped bool
	// Sent is the request as the upstream received it (method, path and
	// query, headers, body), or nil when the upstream was not called or
	// the body was refused (413).
	Sent *fasthttp.Request
	// Consumer is the consumer the steps authenticated, nil for none.
	Consumer *consumer.Consumer
	// Values are the per-request values the steps set (SetValue).
	Values map[string]any
	// Logs are the lines logged while the request was served, the log
	// phase included (see Logs); nil when the chain has a logger of its
	// own.
	Logs []string
}

// Do serves r through the chain, as the gateway would once r's route is
// matched: the request phase, the upstream unless a step answered, the
// response phase, then the log phase (waited for), and returns what
// happened. It panics if the log phase does not end within 30 seconds.
func (ch *Chain) Do(r Request) *Result {
	trusted := ch.trusted
	if r.TrustedProxies != nil {
		t, err := trustedProxies(r.TrustedProxies)
		if err != nil {
			panic(err)
		}
		trusted = t
	}
	fc := r.requestCtx()
	x := reqctx.Acquire(fc)
	x.Setup(&ch.route.Route, -1, trusted, ch.lookup, ch.logger)
	r.apply(x)
	c := (*plugin.Context)(x)

	mark := 0
	if ch.logs != nil {
		mark = ch.logs.count()
	}
	res := &Result{Response: &fasthttp.Response{}, Values: map[string]any{}, Stopped: true}
	ch.res = res // the upstream records into it
	defer func() { ch.res = nil }()
	ch.Serve(c)

	res.Body = string(c.Response.Body()) // reads a streamed body whole
	c.Response.CopyTo(res.Response)
	res.Status = res.Response.StatusCode()
	res.Consumer = c.Consumer
	c.VisitValues(func(k string, v any) { res.Values[k] = v })
	if err := ch.Finish(c); err != nil {
		panic("plugintest: " + err.Error())
	}
	if ch.logs != nil {
		res.Logs = ch.logs.since(mark)
	}
	return res
}

// Reply is an Upstream answering every request with the same response.
// The zero Reply answers 200 with no body and no headers.
type Reply struct {
	// Status is the response status. Default 200.
	Status int
	// Header holds name, value pairs, in order; a name may repeat.
	Header []string
	// Body is the response body.
	Body string
}

// Name implements Upstream: "test".
func (Reply) Name() string { return "test" }

// Forward implements Upstream.
func (r Reply) Forward(c *plugin.Context) error {
	status := r.Status
	if status == 0 {
		status = 200
	}
	c.Response.Reset()
	c.Response.Header.SetNoDefaultContentType(true)
	c.Response.SetStatusCode(status)
	if len(r.Header)%2 != 0 {
		panic("plugintest: Reply.Header needs name, value pairs")
	}
	for i := 0; i < len(r.Header); i += 2 {
		c.Response.Header.Add(r.Header[i], r.Header[i+1])
	}
	c.Response.SetBodyString(r.Body)
	return nil
}
