package acl

import (
	"strings"

	"github.com/moongate/moongate/core/config"
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
	// CtxGroups names a per-request value holding the groups of a client
	// that a step other than an authentication step identified (a script
	// checking a token: gw.ctx.set("groups", {"admins"})): a list of
	// strings, or one string of comma-separated groups. They are used
	// when the request has no consumer or the anonymous one (Kong's
	// authenticated groups). Default "": none.
	CtxGroups string `toml:"ctx_groups"`
	// AlwaysUseCtxGroups uses the ctx_groups value whenever it is set,
	// even for a request with a consumer (whose groups count when it is
	// not set). Default false.
	AlwaysUseCtxGroups bool `toml:"always_use_ctx_groups"`
	// HideGroupsHeader removes the groups header ([auth] groups_header)
	// from the request sent upstream. Default false.
	HideGroupsHeader bool `toml:"hide_groups_header"`
}

// Plugin is an instance of acl.
type Plugin struct {
	allow, deny  []string
	anonymous    bool
	ctxGroups    string
	alwaysCtx    bool
	groupsHeader string // removed from the request; "" for none
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
	if cfg.AlwaysUseCtxGroups && cfg.CtxGroups == "" {
		return nil, spec.Config.Problem("always_use_ctx_groups", "needs ctx_groups")
	}
	p := &Plugin{allow: cfg.Allow, deny: cfg.Deny, anonymous: cfg.AllowAnonymous,
		ctxGroups: cfg.CtxGroups, alwaysCtx: cfg.AlwaysUseCtxGroups}
	if cfg.HideGroupsHeader {
		auth := config.DefaultAuth()
		if s := spec.Settings(); s != nil {
			auth = s.Auth
		}
		p.groupsHeader = auth.GroupsHeader
	}
	return p, nil
}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if err := p.check(c); err != nil {
		return err
	}
	if p.groupsHeader != "" {
		c.Request.Header.Del(p.groupsHeader)
	}
	return nil
}

func (p *Plugin) check(c *plugin.Context) error {
	cons := c.Consumer
	if p.ctxGroups != "" && (cons == nil || cons.Anonymous || p.alwaysCtx) {
		if v := c.Value(p.ctxGroups); v != nil {
			return p.decide(groupsOf(v))
		}
	}
	if cons == nil {
		return errNoConsumer
	}
	if cons.Anonymous && !p.anonymous {
		return errDenied
	}
	return p.decide(sliceGroups(cons.Groups))
}

// decide applies the lists to groups: a deny match refuses, then an
// allow list must match.
func (p *Plugin) decide(groups groupList) error {
	if groups.bad || groups.any(p.deny) {
		return errDenied
	}
	if len(p.allow) == 0 || groups.any(p.allow) {
		return nil
	}
	return errDenied
}

// groupList is a set of groups in one of the forms they come in.
type groupList struct {
	list  []string
	items []any
	csv   string
	bad   bool // a value of another type: no groups, and refused
}

func sliceGroups(l []string) groupList { return groupList{list: l} }

// groupsOf reads a ctx value: []string, []any of strings (a Lua list),
// or a comma-separated string.
func groupsOf(v any) groupList {
	switch x := v.(type) {
	case []string:
		return groupList{list: x}
	case []any:
		return groupList{items: x}
	case string:
		return groupList{csv: x}
	}
	return groupList{bad: true}
}

// any reports whether one of the groups is in names.
func (g groupList) any(names []string) bool {
	in := func(s string) bool {
		for _, n := range names {
			if s == n {
				return true
			}
		}
		return false
	}
	for _, s := range g.list {
		if in(s) {
			return true
		}
	}
	for _, it := range g.items {
		if s, ok := it.(string); ok && in(strings.TrimSpace(s)) {
			return true
		}
	}
	for rest := g.csv; rest != ""; {
		var s string
		s, rest, _ = strings.Cut(rest, ",")
		if s = strings.TrimSpace(s); s != "" && in(s) {
			return true
		}
	}
	return false
}
