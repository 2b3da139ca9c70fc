package iprestriction

import (
	"net/netip"
	"strconv"

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
}

// Plugin is an instance of ip-restriction.
type Plugin struct {
	allow, deny []netip.Prefix
	err         *plugin.Error
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
	p := &Plugin{err: plugin.NewError(cfg.Status, cfg.Message)}
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
	if !p.Allowed(c.ClientIP()) {
		return p.err
	}
	return nil
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
