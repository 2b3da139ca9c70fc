package concurrencylimit

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/limitkey"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("concurrency-limit", New) }

// Config is the concurrency-limit step's [config] table. Every field's
// comment gives its key, unit and default.
type Config struct {
	// MaxInFlight is how many requests of one key may be in flight at
	// once, from the step to the end of their response (a streamed body
	// included). Required, at least 1.
	MaxInFlight int `toml:"max_in_flight"`
	// Key says what is limited: "route", "consumer", "ip", "header:NAME",
	// "param:NAME", "query:NAME", "ctx:NAME", or a list combined. Default
	// "route".
	Key config.StringList `toml:"key"`
	// MissingKey is what happens to a request the key has no value for:
	// "anonymous" limits all of them under one shared key, "pass" lets
	// them through unlimited. Default "anonymous".
	MissingKey string `toml:"missing_key"`
	// Queue is how many requests of one key may wait for a slot when all
	// are taken; past it, requests are refused at once. Default 0.
	Queue int `toml:"queue"`
	// QueueTimeout is the longest a request waits in the queue before it
	// is refused. Default "1s", at most "60s".
	QueueTimeout config.Duration `toml:"queue_timeout"`
	// Status answers a refused request: 503 (the service is busy) by
	// default when the key is "route", 429 (the client sends too much at
	// once) for any other key.
	Status int `toml:"status"`
	// RetryAfter is sent with a refusal, in whole seconds. Default "1s";
	// "0s" sends none.
	RetryAfter config.Duration `toml:"retry_after"`
	// Message is the error text of a refusal. Default "too many requests
	// in flight".
	Message string `toml:"message"`
	// MaxKeys bounds the keys remembered with nothing in flight (keys in
	// flight are always kept). Default 10000.
	MaxKeys int `toml:"max_keys"`
}

// Plugin is one concurrency-limit step, safe for concurrent use.
type Plugin struct {
	key        *limitkey.Key
	pass       bool
	slots      *slots
	wait       time.Duration
	status     int
	retryAfter string
	message    string

	route, path string
	cfg         *config.Config

	refused, queued, timedOut atomic.Uint64
}

var (
	_ plugin.RequestHandler = (*Plugin)(nil)
	_ plugin.Cleaner        = (*Plugin)(nil)
)

// New builds a concurrency-limit step from its configuration.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Key: config.StringList{"route"}, MissingKey: "anonymous", QueueTimeout: config.Duration(time.Second),
		RetryAfter: config.Duration(time.Second), Message: "too many requests in flight", MaxKeys: 10000}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	t := spec.Config
	var ps config.Problems
	bad := func(key, reason string) { ps = append(ps, config.AsProblems(t.Problem(key, reason))...) }
	p := &Plugin{wait: cfg.QueueTimeout.Std(), message: cfg.Message, route: spec.Route, path: spec.Path, cfg: spec.Settings()}
	if cfg.MaxInFlight < 1 {
		bad("max_in_flight", "must be at least 1, got "+strconv.Itoa(cfg.MaxInFlight))
	}
	k, err := limitkey.Parse(cfg.Key)
	if err != nil {
		bad("key", err.Error())
	}
	p.key = k
	switch cfg.MissingKey {
	case "anonymous":
	case "pass":
		p.pass = true
	default:
		bad("missing_key", `must be "anonymous" or "pass", got `+strconv.Quote(cfg.MissingKey))
	}
	if cfg.Queue < 0 || cfg.Queue > 100000 {
		bad("queue", "must be between 0 and 100000, got "+strconv.Itoa(cfg.Queue))
	}
	if cfg.QueueTimeout.Std() > time.Minute {
		bad("queue_timeout", `must be at most "60s", got "`+cfg.QueueTimeout.String()+`"`)
	}
	if cfg.Queue > 0 && cfg.QueueTimeout == 0 {
		bad("queue_timeout", "must be more than 0s with a queue")
	}
	p.status = cfg.Status
	if p.status == 0 {
		p.status = 429
		if k != nil && k.Only("route") {
			p.status = 503
		}
	} else if p.status < 400 || p.status > 599 {
		bad("status", "must be between 400 and 599, got "+strconv.Itoa(p.status))
	}
	if cfg.RetryAfter != 0 {
		secs := (cfg.RetryAfter.Std() + time.Second - 1) / time.Second
		p.retryAfter = strconv.FormatInt(int64(secs), 10)
	}
	if cfg.Message == "" || !config.IsHeaderValue(cfg.Message) {
		bad("message", "must be a non-empty line of text")
	}
	if cfg.MaxKeys < 1 {
		bad("max_keys", "must be at least 1, got "+strconv.Itoa(cfg.MaxKeys))
	}
	if len(ps) > 0 {
		return nil, ps
	}
	p.slots = newSlots(cfg.MaxInFlight, cfg.Queue, cfg.MaxKeys)
	p.metrics(spec.Metrics())
	steps.Add(p)
	return p, nil
}

// Cleanup implements plugin.Cleaner: the step leaves GET
// /concurrency-limits. Slots still held are given back by their requests.
func (p *Plugin) Cleanup() error {
	steps.Remove(p)
	return nil
}

// OnRequest takes a slot of the request's key, waiting in the key's queue
// when all are taken, or refuses the request. The slot is given back when
// the response has been written to the client (or the connection failed):
// it is left with fasthttp's request context, which closes it then, after
// the last byte of a streamed body too.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if c.Fast == nil {
		return nil // not a client's request: nothing would give the slot back
	}
	buf := c.Scratch()
	key, complete := p.key.Append(buf, c)
	c.KeepScratch(key)
	if !complete && p.pass {
		return nil
	}
	e, o := p.slots.acquire(key, p.wait)
	switch o {
	case acquired:
	case dequeued:
		p.queued.Add(1)
	default:
		if o == timedOut {
			p.queued.Add(1)
			p.timedOut.Add(1)
		}
		p.refused.Add(1)
		c.Error(p.status, p.message)
		if p.retryAfter != "" {
			c.Response.Header.Set("Retry-After", p.retryAfter)
		}
		return nil
	}
	c.Fast.SetUserValue(p, e)
	return nil
}

// metrics puts the step's counters on GET /metrics, read when it is
// scraped: nothing more per request.
func (p *Plugin) metrics(m *plugin.Metrics) {
	labels := []string{"route", p.route, "step", p.path}
	m.CounterFunc("moongate_concurrencylimit_refused_total", func() float64 { return float64(p.refused.Load()) }, labels...)
	m.CounterFunc("moongate_concurrencylimit_queue_timeouts_total", func() float64 { return float64(p.timedOut.Load()) }, labels...)
	m.GaugeFunc("moongate_concurrencylimit_in_flight", func() float64 { n, _, _ := p.slots.counts(); return float64(n) }, labels...)
	m.GaugeFunc("moongate_concurrencylimit_queued", func() float64 { _, n, _ := p.slots.counts(); return float64(n) }, labels...)
}
