package headers

import (
	"sort"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

func init() { plugin.Register("headers", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Request changes the request sent upstream.
	Request Changes `toml:"request"`
	// Response changes the response sent to the client.
	Response Changes `toml:"response"`
}

// Changes is one direction's header changes.
type Changes struct {
	// Set replaces a header's values with one value.
	Set map[string]string `toml:"set"`
	// Add appends a value, keeping existing ones.
	Add map[string]string `toml:"add"`
	// Remove deletes headers.
	Remove []string `toml:"remove"`
}

type pair struct{ key, value []byte }

type compiled struct {
	set, add []pair
	remove   [][]byte
}

func (cp *compiled) empty() bool { return len(cp.set)+len(cp.add)+len(cp.remove) == 0 }

// Plugin is an instance of headers.
type Plugin struct {
	req, resp compiled
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	var cfg Config
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	p := &Plugin{}
	var err error
	if p.req, err = compile(spec, "request", cfg.Request); err != nil {
		return nil, err
	}
	if p.resp, err = compile(spec, "response", cfg.Response); err != nil {
		return nil, err
	}
	return p, nil
}

func compile(spec plugin.Spec, dir string, ch Changes) (compiled, error) {
	var cp compiled
	for _, kind := range []struct {
		name string
		m    map[string]string
		dst  *[]pair
	}{{"set", ch.Set, &cp.set}, {"add", ch.Add, &cp.add}} {
		keys := make([]string, 0, len(kind.m))
		for k := range kind.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !config.IsToken(k) {
				return cp, spec.Config.Problem(dir+"."+kind.name, "invalid header name "+quote(k))
			}
			if strings.ContainsAny(kind.m[k], "\r\n") {
				return cp, spec.Config.Problem(dir+"."+kind.name, "value of "+quote(k)+" contains a line break")
			}
			*kind.dst = append(*kind.dst, pair{[]byte(k), []byte(kind.m[k])})
		}
	}
	for _, k := range ch.Remove {
		if !config.IsToken(k) {
			return cp, spec.Config.Problem(dir+".remove", "invalid header name "+quote(k))
		}
		cp.remove = append(cp.remove, []byte(k))
	}
	return cp, nil
}

func quote(s string) string { return `"` + s + `"` }

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if !p.req.empty() {
		apply(&c.Request.Header, &p.req)
	}
	return nil
}

// OnResponse implements plugin.ResponseHandler.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	if !p.resp.empty() {
		apply(&c.Response.Header, &p.resp)
	}
	return nil
}

// header is what request and response headers have in common.
type header interface {
	DelBytes(key []byte)
	SetBytesKV(key, value []byte)
	AddBytesKV(key, value []byte)
}

var (
	_ header = (*fasthttp.RequestHeader)(nil)
	_ header = (*fasthttp.ResponseHeader)(nil)
)

func apply(h header, cp *compiled) {
	for _, k := range cp.remove {
		h.DelBytes(k)
	}
	for _, kv := range cp.set {
		h.SetBytesKV(kv.key, kv.value)
	}
	for _, kv := range cp.add {
		h.AddBytesKV(kv.key, kv.value)
	}
}
