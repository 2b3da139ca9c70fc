package mock

import (
	"sort"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("mock", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Status is the answer's status. Default 200.
	Status int `toml:"status"`
	// Body is the answer's body. Default "".
	Body string `toml:"body"`
	// ContentType is the answer's Content-Type. Default "text/plain; charset=utf-8".
	ContentType string `toml:"content_type"`
	// Headers are extra response headers.
	Headers map[string]string `toml:"headers"`
}

// Plugin is an instance of mock.
type Plugin struct {
	status      int
	body        []byte
	contentType string
	headers     [][2]string
}

var (
	_ plugin.RequestHandler = (*Plugin)(nil)
	_ plugin.Responder      = (*Plugin)(nil)
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Status: 200, ContentType: "text/plain; charset=utf-8"}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Status < 100 || cfg.Status > 599 {
		return nil, spec.Config.Problem("status", "must be between 100 and 599, got "+strconv.Itoa(cfg.Status))
	}
	p := &Plugin{status: cfg.Status, body: []byte(cfg.Body), contentType: cfg.ContentType}
	keys := make([]string, 0, len(cfg.Headers))
	for k := range cfg.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.ContainsAny(k+cfg.Headers[k], "\r\n") || k == "" {
			return nil, spec.Config.Problem("headers", "invalid header "+strconv.Quote(k))
		}
		p.headers = append(p.headers, [2]string{k, cfg.Headers[k]})
	}
	return p, nil
}

// OnRequest implements plugin.RequestHandler: it answers and stops the plugin.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	c.Respond(p.status, p.contentType, p.body)
	for _, h := range p.headers {
		c.Response.Header.Set(h[0], h[1])
	}
	return nil
}

// Answers implements plugin.Responder: mock answers every request.
func (p *Plugin) Answers() plugin.Answer { return plugin.AnswerAlways }
