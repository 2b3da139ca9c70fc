package requesttermination

import (
	"strconv"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("request-termination", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Status is the answer's status. Default 503.
	Status int `toml:"status"`
	// Message is answered in the gateway's JSON error format. Default
	// "service unavailable".
	Message string `toml:"message"`
	// Body, when set, is answered as is instead of Message. Default "".
	Body string `toml:"body"`
	// ContentType goes with Body. Default "text/plain; charset=utf-8".
	ContentType string `toml:"content_type"`
	// RetryAfter adds Retry-After in seconds. Default "0s": none.
	RetryAfter config.Duration `toml:"retry_after"`
}

// Plugin is an instance of request-termination.
type Plugin struct {
	status      int
	message     string
	body        []byte
	contentType string
	retryAfter  string
}

var (
	_ plugin.RequestHandler = (*Plugin)(nil)
	_ plugin.Responder      = (*Plugin)(nil)
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Status: 503, Message: "service unavailable", ContentType: "text/plain; charset=utf-8"}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Status < 100 || cfg.Status > 599 {
		return nil, spec.Config.Problem("status", "must be between 100 and 599, got "+strconv.Itoa(cfg.Status))
	}
	p := &Plugin{status: cfg.Status, message: cfg.Message, contentType: cfg.ContentType}
	if cfg.Body != "" {
		p.body = []byte(cfg.Body)
	}
	if s := int64(cfg.RetryAfter.Std().Seconds()); s > 0 {
		p.retryAfter = strconv.FormatInt(s, 10)
	}
	return p, nil
}

// OnRequest implements plugin.RequestHandler: it answers and stops the plugin.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if p.body != nil {
		c.Respond(p.status, p.contentType, p.body)
	} else {
		c.Error(p.status, p.message)
	}
	if p.retryAfter != "" {
		c.Response.Header.Set("Retry-After", p.retryAfter)
	}
	return nil
}

// Answers implements plugin.Responder: request-termination answers every
// request.
func (p *Plugin) Answers() plugin.Answer { return plugin.AnswerAlways }
