package aiproxy

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/plugins/aiproxy/openai"
	"github.com/moongate/moongate/plugins/aiproxy/translate"
)

func init() { plugin.Register("ai-proxy", New) }

// Plugin is an instance of the ai-proxy step. It keeps no per-request
// state: that lives in a pooled *call.
type Plugin struct {
	path      string // the step's key path, for the admin API
	route     string // the step's route, "" for a global step
	settings  *config.Config
	providers []*provider
	models    *modelTable
	prices    map[string]price

	defaultMaxTokens int
	maxAttempts      int
	maxRequest       int

	limits *tokenLimits
	cache  *promptCache
	logger *slog.Logger

	// The answers of GET .../models, in either API's shape.
	modelsOpenAI, modelsAnthropic []byte
}

var (
	_ plugin.RequestHandler = (*Plugin)(nil)
	_ plugin.Responder      = (*Plugin)(nil)
	_ plugin.Cleaner        = (*Plugin)(nil)
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := defaultConfig()
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.check(spec); err != nil {
		return nil, err
	}
	p := &Plugin{path: spec.Path, route: spec.Route, settings: spec.Settings(), logger: spec.Logger(),
		prices: newPrices(cfg.Prices), defaultMaxTokens: cfg.DefaultMaxTokens, maxAttempts: cfg.MaxAttempts,
		maxRequest: 8 << 20}
	if s := spec.Settings(); s != nil && s.Server.MaxBodySize > 0 {
		p.maxRequest = s.Server.MaxBodySize.Int()
	}
	byName := map[string]*provider{}
	for i := range cfg.Providers {
		pr := newProvider(&cfg.Providers[i], cfg.MaxResponseSize.Int())
		p.providers = append(p.providers, pr)
		byName[pr.name] = pr
	}
	p.models = newModelTable(cfg.Models, byName)
	lim, err := newTokenLimits(spec, cfg.Limits)
	if err != nil {
		return nil, spec.Config.Problem("limits", err.Error())
	}
	p.limits = lim
	p.cache = newPromptCache(spec, cfg.Cache)
	p.modelsOpenAI, p.modelsAnthropic = p.modelLists()
	instances.Add(p)
	return p, nil
}

// Answers implements plugin.Responder: ai-proxy answers every request
// that reaches it, from a provider or with an error.
func (p *Plugin) Answers() plugin.Answer { return plugin.AnswerAlways }

// Cleanup implements plugin.Cleaner.
func (p *Plugin) Cleanup() error {
	instances.Remove(p)
	for _, pr := range p.providers {
		pr.close()
	}
	return nil
}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	ep := endpointOf(c.Path())
	kind := clientKind(c, ep)
	c.SetValue(ValueAPI, kind.String())
	method := string(c.Method())
	switch ep {
	case epNone:
		respondError(c, kind, 404, "unknown AI endpoint: this route serves .../chat/completions, .../messages, .../embeddings and .../models", 0)
		return nil
	case epModels:
		if method != "GET" && method != "HEAD" {
			respondError(c, kind, 405, "method not allowed: use GET", 0)
			c.Response.Header.Set("Allow", "GET, HEAD")
			return nil
		}
		list := p.modelsOpenAI
		if kind == kindAnthropic {
			list = p.modelsAnthropic
		}
		c.Respond(200, "application/json", list)
		return nil
	}
	if method != "POST" {
		respondError(c, kind, 405, "method not allowed: use POST", 0)
		c.Response.Header.Set("Allow", "POST")
		return nil
	}
	cl := acquireCall(p, c, ep, kind)
	if !cl.start() {
		releaseCall(cl)
		return nil
	}
	if !cl.run() {
		// The answer is over: JSON, an error, or a cache hit.
		releaseCall(cl)
	}
	return nil
}

// readBody returns the request body, reading a streamed one (over
// [server] buffer_body_size) into the call's buffer; status is 413 or 400
// when it cannot.
func (cl *call) readBody() (body []byte, status int) {
	c := cl.c
	b, streamed := c.RequestBody()
	if !streamed {
		return b, 0
	}
	max := cl.p.maxRequest
	stream := c.Request.BodyStream()
	buf, err := appendReadAll(cl.bodyBuf[:0], io.LimitReader(stream, int64(max)+1))
	cl.bodyBuf = buf
	if err != nil {
		// The gateway's body stream fails past max_body_size.
		if tl, ok := stream.(interface{ TooLarge() bool }); ok && tl.TooLarge() {
			return nil, 413
		}
		return nil, 400
	}
	if len(buf) > max {
		return nil, 413
	}
	return buf, 0
}

// appendReadAll appends to buf what r yields until io.EOF (then err is
// nil) or another error, growing buf in place as needed.
func appendReadAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// modelLists returns the bodies of GET .../models in OpenAI's and
// Anthropic's shapes: the model names and aliases of the table (not its
// patterns), owned by the first target's provider.
func (p *Plugin) modelLists() (oa, an []byte) {
	ol := openai.ModelList{Object: "list", Data: []openai.Model{}}
	type anthropicModel struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	al := struct {
		Data    []anthropicModel `json:"data"`
		HasMore bool             `json:"has_more"`
		FirstID *string          `json:"first_id"`
		LastID  *string          `json:"last_id"`
	}{Data: []anthropicModel{}}
	for _, name := range p.models.listed {
		e := p.models.exact[name]
		ol.Data = append(ol.Data, openai.Model{ID: name, Object: "model", OwnedBy: e.targets[0].p.name})
		al.Data = append(al.Data, anthropicModel{Type: "model", ID: name, DisplayName: name, CreatedAt: "1970-01-01T00:00:00Z"})
	}
	if n := len(al.Data); n > 0 {
		al.FirstID, al.LastID = &al.Data[0].ID, &al.Data[n-1].ID
	}
	oa, _ = json.Marshal(ol)
	an, _ = json.Marshal(al)
	return oa, an
}

// badRequest answers a request the gateway cannot serve, in the client's
// shape: a translation error keeps its status.
func (cl *call) badRequest(err error) {
	status, msg := 400, err.Error()
	var te *translate.Error
	if errors.As(err, &te) {
		status, msg = te.Status, te.Message
	}
	respondError(cl.c, cl.client, status, msg, 0)
}

func quote(s string) string { return strconv.Quote(s) }
