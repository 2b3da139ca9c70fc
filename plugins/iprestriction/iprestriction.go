package iprestriction

import (
	"bytes"
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("ip-restriction", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Allow lists addresses and CIDRs; when set, only they pass. Default: none.
	Allow []string `toml:"allow"`
	// Deny lists addresses and CIDRs that never pass. Default: none.
	Deny []string `toml:"deny"`
	// Status answers refused requests. Default 403.
	Status int `toml:"status"`
	// Message is the error message. Default "access denied".
	Message string `toml:"message"`
	// Header names a header holding the client address, set by a proxy
	// in front ("CF-Connecting-IP", "True-Client-IP", "X-Real-IP"): it is
	// believed only from [server] trusted_proxies, as nginx's
	// real_ip_header with set_real_ip_from (Kong's way). From other
	// peers, or when absent or not an address, the real client address
	// is used. Default "": the real client address.
	Header string `toml:"header"`
}

// Plugin is an instance of ip-restriction.
type Plugin struct {
	allow, deny []netip.Prefix
	err         *plugin.Error
	header      string
}

var _ plugin.RequestHandler = (*Plugin)(nil)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Status: 403, Message: "access denied"}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if len(cfg.Allow) == 0 && len(cfg.Deny) == 0 {
		return nil, spec.Config.Problem("allow", "needs allow or deny addresses")
	}
	if cfg.Status < 400 || cfg.Status > 499 {
		return nil, spec.Config.Problem("status", "must be a 4xx status, got "+strconv.Itoa(cfg.Status))
	}
	if cfg.Header != "" && !config.IsToken(cfg.Header) {
		return nil, spec.Config.Problem("header", "invalid header name "+strconv.Quote(cfg.Header))
	}
	p := &Plugin{err: plugin.NewError(cfg.Status, cfg.Message), header: cfg.Header}
	for _, l := range []struct {
		key string
		in  []string
		out *[]netip.Prefix
	}{{"allow", cfg.Allow, &p.allow}, {"deny", cfg.Deny, &p.deny}} {
		for i, s := range l.in {
			pf, err := config.ParsePrefix(s)
			if err != nil {
				return nil, spec.Config.Problem(l.key+"["+strconv.Itoa(i)+"]", "is not an IP address or CIDR: "+strconv.Quote(s))
			}
			*l.out = append(*l.out, pf)
		}
	}
	return p, nil
}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if !p.Allowed(p.address(c)) {
		return p.err
	}
	return nil
}

// address returns the address the lists are checked against.
func (p *Plugin) address(c *plugin.Context) netip.Addr {
	if p.header != "" && c.Trusted().Contains(c.RemoteAddr()) {
		v := c.Request.Header.Peek(p.header)
		// A list: the last element is what the nearest proxy wrote.
		if i := bytes.LastIndexByte(v, ','); i >= 0 {
			v = v[i+1:]
		}
		if v = bytes.TrimSpace(v); len(v) > 0 {
			// Parsed in place: the string does not outlive the call (an
			// error that quotes it is dropped).
			if a, err := netip.ParseAddr(unsafe.String(&v[0], len(v))); err == nil {
				return a.Unmap()
			}
		}
	}
	return c.ClientIP()
}

// Allowed reports whether addr passes the lists.
func (p *Plugin) Allowed(addr netip.Addr) bool {
	if !addr.IsValid() {
		return len(p.allow) == 0
	}
	addr = addr.Unmap()
	for _, pf := range p.deny {
		if pf.Contains(addr) {
			return false
		}
	}
	if len(p.allow) == 0 {
		return true
	}
	for _, pf := range p.allow {
		if pf.Contains(addr) {
			return true
		}
	}
	return false
}
