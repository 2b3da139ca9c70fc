package basicauth

import (
	"bytes"
	"encoding/base64"
	"strconv"

	"github.com/moongate/moongate/core/chain"
	"github.com/moongate/moongate/core/consumer"
)

func init() { chain.Register("basic-auth", New) }

// Config is the plugin's TOML table.
type Config struct {
	consumer.Options
	// HideCredentials removes the Authorization header from the request
	// sent upstream. Default false.
	HideCredentials bool `toml:"hide_credentials"`
}

// Plugin checks Basic credentials. It implements consumer.Authenticator.
type Plugin struct {
	reg       *consumer.Registry
	hide      bool
	challenge string
}

// maxCredentials bounds the decoded "user:password".
const maxCredentials = 512

var (
	errMalformed = chain.NewError(401, "malformed basic credentials")
	errInvalid   = chain.NewError(401, "invalid username or password")
)

// New builds the plugin from its step.
func New(spec chain.Spec) (any, error) {
	cfg := Config{Options: consumer.DefaultOptions()}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	p := &Plugin{reg: consumer.Of(spec.Env), hide: cfg.HideCredentials,
		challenge: "Basic realm=" + strconv.Quote(cfg.Realm) + `, charset="UTF-8"`}
	return consumer.NewAuth(spec, p, cfg.Options)
}

// Challenge implements consumer.Authenticator.
func (p *Plugin) Challenge() string { return p.challenge }

// Authenticate implements consumer.Authenticator.
func (p *Plugin) Authenticate(c *chain.Context) (*chain.Consumer, error) {
	v := c.Request.Header.Peek("Authorization")
	enc, ok := consumer.CutScheme(v, "basic")
	if !ok {
		return nil, consumer.ErrNoCredentials
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
	cons := p.reg.Basic(cred[:i], cred[i+1:])
	clear(buf[:n])
	if cons == nil {
		return nil, errInvalid
	}
	if p.hide {
		c.Request.Header.Del("Authorization")
	}
	return cons, nil
}
