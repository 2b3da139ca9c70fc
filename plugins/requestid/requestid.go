package requestid

import (
	"math/rand/v2"

	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("request-id", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Header carries the ID. Default "X-Request-Id".
	Header string `toml:"header"`
	// TrustIncoming keeps an ID the client sent, if it is 1 to 128
	// visible ASCII characters. Default true.
	TrustIncoming bool `toml:"trust_incoming"`
	// Response sets the header on the response too. Default true.
	Response bool `toml:"response"`
}

// Plugin is an instance of request-id.
type Plugin struct {
	header        string
	trustIncoming bool
	response      bool
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Header: "X-Request-Id", TrustIncoming: true, Response: true}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Header == "" {
		return nil, spec.Config.Problem("header", "must not be empty")
	}
	return &Plugin{header: cfg.Header, trustIncoming: cfg.TrustIncoming, response: cfg.Response}, nil
}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if in := c.Request.Header.Peek(p.header); p.trustIncoming && valid(in) {
		c.SetRequestID(in)
		return nil
	}
	var buf [36]byte
	id := AppendUUID(buf[:0])
	c.SetRequestID(id)
	c.Request.Header.SetBytesV(p.header, id)
	return nil
}

// OnResponse implements plugin.ResponseHandler.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	if p.response {
		if id := c.RequestID(); len(id) > 0 {
			c.Response.Header.SetBytesV(p.header, id)
		}
	}
	return nil
}

func valid(id []byte) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// AppendUUID appends a random (version 4) UUID in its 36-character text
// form to dst, without allocating.
func AppendUUID(dst []byte) []byte {
	const hex = "0123456789abcdef"
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[x>>4], hex[x&0xf])
	}
	return dst
}
