package requestsizelimit

import (
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("request-size-limit", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Max is the largest body accepted. Required.
	Max config.Size `toml:"max"`
}

// Plugin is an instance of request-size-limit.
type Plugin struct{ max int }

var (
	_ plugin.RequestHandler = (*Plugin)(nil)

	errTooLarge = plugin.NewError(413, "request body too large")
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Max: -1}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Max < 0 {
		return nil, spec.Config.Problem("max", `is required, such as "1MB"`)
	}
	return &Plugin{max: cfg.Max.Int()}, nil
}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	body, streamed := c.RequestBody()
	if n := c.Request.Header.ContentLength(); n > p.max || len(body) > p.max {
		c.Response.SetConnectionClose()
		return errTooLarge
	}
	if streamed {
		// A chunked body of unknown length: it is counted as it streams
		// upstream, and the request fails with 413 past the limit.
		c.LimitRequestBody(int64(p.max))
	}
	return nil
}
