package requesttransformer

import (
	"bytes"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/template"
	"github.com/moongate/moongate/core/transformstep"
)

func init() { plugin.Register("request-transformer", New) }

// Config is the plugin's TOML table: the operations (remove, rename,
// replace, set, add, append; see transformstep.Config), the method and
// the path.
type Config struct {
	transformstep.Config
	// Method replaces the request method ("POST"). Default "": unchanged.
	Method string `toml:"method"`
	// Path rewrites the path sent upstream. Default: unchanged.
	Path Rewrite `toml:"path"`
}

// Rewrite is the path rewrite: a regex on the normalized path and the
// template of the new path.
type Rewrite struct {
	// From is matched against the normalized path; a path it does not
	// match is not rewritten. Its captures are $1, ${name}... in To and
	// in every other value of the step. Default "": every path.
	From string `toml:"from"`
	// To is the new path, a template starting with "/". Default "": no
	// rewrite.
	To string `toml:"to"`
}

// Plugin is an instance of request-transformer.
type Plugin struct {
	prog   *transformstep.Program
	method []byte
	from   *regexp.Regexp
	to     *template.Template
	strict bool

	badPath transformstep.Throttle
}

var _ plugin.RequestHandler = (*Plugin)(nil)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	var cfg Config
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	p := &Plugin{strict: transformstep.StrictPaths(spec)}
	if cfg.Method != "" {
		if !config.IsToken(cfg.Method) {
			return nil, spec.Config.Problem("method", "not a method: "+strconv.Quote(cfg.Method))
		}
		p.method = []byte(cfg.Method)
	}
	if cfg.Path.From != "" {
		re, err := regexp.Compile(cfg.Path.From)
		if err != nil {
			return nil, spec.Config.Problem("path.from", err.Error())
		}
		p.from = re
	}
	params := transformstep.RouteParams(spec)
	if cfg.Path.To != "" {
		if cfg.Path.To[0] != '/' {
			return nil, spec.Config.Problem("path.to", "must start with \"/\", got "+strconv.Quote(cfg.Path.To))
		}
		to, err := template.Compile(cfg.Path.To, template.Options{Regexp: p.from, Params: params})
		if err != nil {
			return nil, spec.Config.Problem("path.to", err.Error())
		}
		p.to = to
	} else if p.from != nil && p.from.NumSubexp() == 0 {
		return nil, spec.Config.Problem("path.from", "has no use without path.to or captures to use")
	}
	prog, err := transformstep.Compile(spec.Config, &cfg.Config, transformstep.Options{
		Query: true, Request: true, Regexp: p.from, Params: params})
	if err != nil {
		return nil, err
	}
	p.prog = prog
	return p, nil
}

var errBadPath = plugin.NewError(400, "invalid rewritten path")

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	st := transformstep.AcquireState(c)
	defer transformstep.ReleaseState(st)
	matched := true
	if p.from != nil {
		matched = st.Match(p.from, c.Path())
	}
	if p.prog.HasHeaders() {
		p.prog.ApplyHeaders(c, &c.Request.Header, st, true)
	}
	if p.prog.HasQuery() {
		p.prog.ApplyQuery(c, c.Request.URI().QueryArgs(), st, true)
	}
	if p.prog.HasBody() {
		p.editBody(c, st)
	}
	if p.method != nil {
		c.Request.Header.SetMethodBytes(p.method)
	}
	if p.to != nil && matched {
		return p.rewrite(c, st)
	}
	return nil
}

// editBody applies the body operations to a JSON body read whole.
func (p *Plugin) editBody(c *plugin.Context, st *transformstep.State) {
	if !transformstep.IsJSON(c.Request.Header.ContentType()) {
		return
	}
	body, streamed := c.RequestBody()
	switch {
	case streamed:
		// Buffering it would hold a body the gateway chose to stream
		// (server.buffer_body_size) in memory.
		p.prog.LogBadBody(c, "request body streamed to the upstream (over server.buffer_body_size): not edited", nil)
		return
	case len(body) == 0:
		return
	case encoded(c.Request.Header.Peek("Content-Encoding")):
		p.prog.LogBadBody(c, "request body has a Content-Encoding: not edited", nil)
		return
	}
	out, err := p.prog.ApplyBody(body, st)
	if err != nil {
		p.prog.LogBadBody(c, "request body is not a JSON object or array", err)
		return
	}
	// The request is written upstream with the new body's length.
	c.Request.SetBody(out)
}

func encoded(ce []byte) bool {
	ce = bytes.TrimSpace(ce)
	return len(ce) > 0 && !bytes.EqualFold(ce, []byte("identity"))
}

// rewrite sets the upstream path from the template. The path is checked
// before it is set: SetPath normalizes what it is given, so a value from
// the request holding ".." would otherwise climb out of the prefix the
// template put it under ("/api/$(header.x)" with "../admin").
func (p *Plugin) rewrite(c *plugin.Context, st *transformstep.State) error {
	var buf [256]byte
	path, _ := p.to.Expand(buf[:0], st.Src, st.Captures)
	if reason := checkPath(path, p.strict); reason != "" {
		if ok, dropped := p.badPath.Allow(time.Now()); ok {
			c.LogAttrs(slog.LevelWarn, "rewritten path refused", slog.String("reason", reason),
				slog.Int64("dropped_since_last", dropped))
		}
		return errBadPath
	}
	c.SetPath(path)
	return nil
}

// checkPath returns why a rewritten (decoded) path may not go upstream,
// or "": a control character, a "." or ".." segment, and with strict
// paths ';' or '\' (path parameters for Tomcat, "/" for IIS).
func checkPath(p []byte, strict bool) string {
	seg := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if s := p[seg:i]; len(s) == 1 && s[0] == '.' || len(s) == 2 && s[0] == '.' && s[1] == '.' {
				return "dot segment"
			}
			seg = i + 1
			continue
		}
		switch c := p[i]; {
		case c < 0x20 || c == 0x7f:
			return "control character"
		case strict && (c == ';' || c == '\\'):
			return "';' or '\\' (server.strict_paths)"
		}
	}
	return ""
}
