package acl

import (
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("acl", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Allow lists groups; when set, the consumer must be in one. Default: none.
	Allow []string `toml:"allow"`
	// Deny lists groups whose members are refused. Default: none.
	Deny []string `toml:"deny"`
	// AllowAnonymous lets the anonymous consumer of an authentication step
	// through on its groups like any other. Default false: refused (403).
	AllowAnonymous bool `toml:"allow_anonymous"`
}

// Plugin is an instance of acl.
type Plugin struct {
	allow, deny []string
	anonymous   bool
}

var (
	_ plugin.RequestHandler = (*Plugin)(nil)

	errNoConsumer = plugin.NewError(401, "authentication required")
	errDenied     = plugin.NewError(403, "access denied")
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	var cfg Config
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if len(cfg.Allow) == 0 && len(cfg.Deny) == 0 {
		return nil, spec.Config.Problem("allow", "needs allow or deny groups")
	}
	for i, g := range append(append([]string(nil), cfg.Allow...), cfg.Deny...) {
		if g == "" {
			key := "allow"
			if i >= len(cfg.Allow) {
				key = "deny"
			}
			return nil, spec.Config.Problem(key, "group names must not be empty")
		}
	}
	return &Plugin{allow: cfg.Allow, deny: cfg.Deny, anonymous: cfg.AllowAnonymous}, nil
}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	cons := c.Consumer
	if cons == nil {
		return errNoConsumer
	}
	if cons.Anonymous && !p.anonymous {
		return errDenied
	}
	for _, g := range cons.Groups {
		for _, d := range p.deny {
			if g == d {
				return errDenied
			}
		}
	}
	if len(p.allow) == 0 {
		return nil
	}
	for _, g := range cons.Groups {
		for _, a := range p.allow {
			if g == a {
				return nil
			}
		}
	}
	return errDenied
}
