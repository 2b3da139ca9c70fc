package basicauth

import (
	"bytes"
	"encoding/base64"
	"strconv"

	"github.com/moongate/moongate/core/authstep"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("basic-auth", New) }

// Config is the plugin's TOML table.
type Config struct {
	authstep.Options
	// HideCredentials removes the Authorization header from the request
	// sent upstream. Default false.
	HideCredentials bool `toml:"hide_credentials"`
}

// Plugin checks Basic credentials. It implements authstep.Authenticator.
type Plugin struct {
	passwords *passwordIndex
	hide      bool
	challenge string
}

// maxCredentials bounds the decoded "user:password".
const maxCredentials = 512

var (
	errMalformed = plugin.NewError(401, "malformed basic credentials")
	errInvalid   = plugin.NewError(401, "invalid username or password")
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Options: authstep.DefaultOptions()}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	p := &Plugin{passwords: passwords.In(spec.Consumers()), hide: cfg.HideCredentials,
		challenge: "Basic realm=" + strconv.Quote(cfg.Realm) + `, charset="UTF-8"`}
	return authstep.NewAuth(spec, p, cfg.Options)
}

// Challenge implements authstep.Authenticator.
func (p *Plugin) Challenge() string { return p.challenge }

// Authenticate implements authstep.Authenticator.
func (p *Plugin) Authenticate(c *plugin.Context) (*consumer.Consumer, error) {
	v := c.Request.Header.Peek("Authorization")
	enc, ok := authstep.CutScheme(v, "basic")
	if !ok {
		return nil, authstep.ErrNoCredentials
	}
	enc = bytes.TrimSpace(enc)
	if base64.StdEncoding.DecodedLen(len(enc)) > maxCredentials {
		return nil, errMalformed
	}
	// The context's scratch buffer: no allocation per request.
	buf := c.Scratch()
	if cap(buf) < maxCredentials {
		buf = make([]byte, 0, maxCredentials)
	}
	buf = buf[:maxCredentials]
	defer c.KeepScratch(buf)
	n, err := base64.StdEncoding.Decode(buf, enc)
	if err != nil {
		return nil, errMalformed
	}
	cred := buf[:n]
	i := bytes.IndexByte(cred, ':')
	if i <= 0 {
		return nil, errMalformed
	}
	cons := p.passwords.check(cred[:i], cred[i+1:])
	clear(buf[:n])
	if cons == nil {
		return nil, errInvalid
	}
	if p.hide {
		c.Request.Header.Del("Authorization")
	}
	return cons, nil
}
