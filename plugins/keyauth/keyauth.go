package keyauth

import (
	"crypto/sha256"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/authstep"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("key-auth", New) }

// Config is the plugin's TOML table.
type Config struct {
	authstep.Options
	// Header carries the key. Default "X-API-Key"; "" reads only Query.
	Header string `toml:"header"`
	// Scheme, when set, is the authentication scheme the header's value
	// starts with ("Bearer"), matched in any case and removed before the
	// key is looked up: header = "Authorization" with scheme = "Bearer"
	// reads the key OpenAI's SDKs send. A value with another scheme (or
	// none) counts as no key. Default "": the whole value is the key.
	Scheme string `toml:"scheme"`
	// Query is a query argument carrying the key, removed before the
	// request goes on. Default "": not read.
	Query string `toml:"query"`
	// HideCredentials removes the key header from the request sent
	// upstream. Default false.
	HideCredentials bool `toml:"hide_credentials"`
}

// Plugin checks API keys. It implements authstep.Authenticator.
type Plugin struct {
	keys      *keyIndex
	header    string
	scheme    string // lower case
	query     string
	hide      bool
	challenge string
}

var errInvalid = plugin.NewError(401, "invalid API key")

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Options: authstep.DefaultOptions(), Header: "X-API-Key"}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Header == "" && cfg.Query == "" {
		return nil, spec.Config.Problem("header", `needs a header or a query argument to read the key from`)
	}
	if cfg.Scheme != "" && !config.IsToken(cfg.Scheme) {
		return nil, spec.Config.Problem("scheme", "must be an authentication scheme such as \"Bearer\", got "+strconv.Quote(cfg.Scheme))
	}
	p := &Plugin{keys: keys.In(spec.Consumers()), header: cfg.Header, scheme: strings.ToLower(cfg.Scheme),
		query: cfg.Query, hide: cfg.HideCredentials,
		challenge: "Key realm=" + strconv.Quote(cfg.Realm)}
	return authstep.NewAuth(spec, p, cfg.Options)
}

// Challenge implements authstep.Authenticator.
func (p *Plugin) Challenge() string { return p.challenge }

// Authenticate implements authstep.Authenticator.
func (p *Plugin) Authenticate(c *plugin.Context) (*consumer.Consumer, error) {
	var sum [32]byte
	found := false
	if p.header != "" {
		k := c.Request.Header.Peek(p.header)
		if k != nil && p.scheme != "" {
			var ok bool
			if k, ok = authstep.CutScheme(k, p.scheme); !ok {
				k = nil
			}
		}
		if k != nil {
			sum, found = sha256.Sum256(k), true
			if p.hide {
				c.Request.Header.Del(p.header)
			}
		}
	}
	if p.query != "" {
		args := c.Request.URI().QueryArgs()
		if k := args.Peek(p.query); k != nil || args.Has(p.query) {
			if !found {
				sum, found = sha256.Sum256(k), true
			}
			// Never forwarded nor logged: drop it from the URI and from
			// the request line the log phase reads.
			args.Del(p.query)
			c.Request.Header.SetRequestURIBytes(c.Request.URI().RequestURI())
		}
	}
	if !found {
		return nil, authstep.ErrNoCredentials
	}
	if cons := p.keys.byHash(sum); cons != nil {
		return cons, nil
	}
	return nil, errInvalid
}
