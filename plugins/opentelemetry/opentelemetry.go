package opentelemetry

import (
	"context"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func init() { plugin.Register("opentelemetry", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Endpoint is the full URL of the OTLP/HTTP traces endpoint, "http" or
	// "https": "http://127.0.0.1:4318/v1/traces". Required.
	Endpoint string `toml:"endpoint"`
	// Headers are sent with every export (a collector's token). Their
	// values are secrets: never logged. Default: none.
	Headers map[string]string `toml:"headers"`
	// ServiceName is the service.name of the spans' resource. Default
	// "moongate".
	ServiceName string `toml:"service_name"`
	// ResourceAttributes are more attributes of the spans' resource.
	// Default: none.
	ResourceAttributes map[string]string `toml:"resource_attributes"`
	// Timeout bounds one export, its retries included. Default "10s".
	Timeout config.Duration `toml:"timeout"`
	// BatchSize is the most spans sent in one export. Default 512.
	BatchSize int `toml:"batch_size"`
	// FlushInterval is the longest a span waits in the queue before it is
	// sent. Default "5s".
	FlushInterval config.Duration `toml:"flush_interval"`
	// QueueSize is the most spans waiting to be sent; past it new spans
	// are dropped (and counted). Default 2048.
	QueueSize int `toml:"queue_size"`
	// StepSpans adds a child span for each step of the chain in each
	// phase it ran (request, response), and one for the upstream call.
	// Default true.
	StepSpans bool `toml:"step_spans"`
	// Compression of the exports: "none" or "gzip". Default "none".
	Compression string `toml:"compression"`
}

// Plugin is an instance of opentelemetry: one exporter, its queue and
// its goroutine.
type Plugin struct {
	tracer    trace.Tracer
	provider  *sdktrace.TracerProvider
	proc      *processor
	stepSpans bool
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)
	_ plugin.LogHandler      = (*Plugin)(nil)
	_ plugin.StepTimesUser   = (*Plugin)(nil)
	_ plugin.Cleaner         = (*Plugin)(nil)
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{ServiceName: "moongate", Timeout: config.Duration(10 * time.Second), BatchSize: 512,
		FlushInterval: config.Duration(5 * time.Second), QueueSize: 2048, StepSpans: true, Compression: "none"}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	var problems config.Problems
	add := func(key, reason string) {
		if p, ok := spec.Config.Problem(key, reason).(config.Problem); ok {
			problems = append(problems, p)
		}
	}
	if u, err := url.Parse(cfg.Endpoint); cfg.Endpoint == "" {
		add("endpoint", `is required: the OTLP/HTTP traces URL, such as "http://127.0.0.1:4318/v1/traces"`)
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("endpoint", "must be an http:// or https:// URL, got "+strconv.Quote(cfg.Endpoint))
	}
	if cfg.ServiceName == "" {
		add("service_name", "must not be empty")
	}
	if cfg.Timeout <= 0 {
		add("timeout", "must be more than 0s, got "+cfg.Timeout.String())
	}
	if cfg.FlushInterval <= 0 {
		add("flush_interval", "must be more than 0s, got "+cfg.FlushInterval.String())
	}
	if cfg.BatchSize < 1 {
		add("batch_size", "must be at least 1, got "+strconv.Itoa(cfg.BatchSize))
	}
	if cfg.QueueSize < 1 {
		add("queue_size", "must be at least 1, got "+strconv.Itoa(cfg.QueueSize))
	}
	var compression otlptracehttp.Compression
	switch cfg.Compression {
	case "none":
		compression = otlptracehttp.NoCompression
	case "gzip":
		compression = otlptracehttp.GzipCompression
	default:
		add("compression", `must be "none" or "gzip", got `+strconv.Quote(cfg.Compression))
	}
	if s := spec.Settings(); s != nil && !s.Tracing.Enabled {
		add("", "needs [tracing] enabled = true: spans take their IDs from the request's trace")
	}
	if len(problems) > 0 {
		return nil, problems
	}
	exporter, err := newExporter(otlptracehttp.WithEndpointURL(cfg.Endpoint),
		otlptracehttp.WithHeaders(cfg.Headers), otlptracehttp.WithTimeout(cfg.Timeout.Std()),
		otlptracehttp.WithCompression(compression))
	if err != nil {
		return nil, spec.Config.Problem("endpoint", err.Error())
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", cfg.ServiceName)}
	for _, k := range sortedKeys(cfg.ResourceAttributes) {
		attrs = append(attrs, attribute.String(k, cfg.ResourceAttributes[k]))
	}
	// The process's span counters, read when GET /metrics is scraped.
	m := spec.Metrics()
	m.CounterFunc("moongate_otel_spans_exported_total", func() float64 { return float64(exported.Load()) })
	m.CounterFunc("moongate_otel_spans_dropped_total", func() float64 { return float64(dropped.Load()) })
	m.CounterFunc("moongate_otel_spans_failed_total", func() float64 { return float64(failed.Load()) })
	proc := newProcessor(exporter, cfg.QueueSize, cfg.BatchSize, cfg.FlushInterval.Std(), cfg.Timeout.Std(), spec.Logger())
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(proc),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(idGenerator{}),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)))
	return &Plugin{tracer: tp.Tracer("github.com/moongate/moongate/plugins/opentelemetry"), provider: tp, proc: proc,
		stepSpans: cfg.StepSpans}, nil
}

// newExporter makes the OTLP/HTTP exporter (it connects on first use);
// benchmarks replace it.
var newExporter = func(opts ...otlptracehttp.Option) (sdktrace.SpanExporter, error) {
	e := otlptracehttp.NewUnstarted(opts...)
	return e, e.Start(context.Background())
}

// UsesStepTimes implements plugin.StepTimesUser: the step spans are the
// engine's step times.
func (p *Plugin) UsesStepTimes() bool { return p.stepSpans }

// Cleanup implements plugin.Cleaner: it sends the spans still queued (for
// at most the export timeout) and stops the exporter.
func (p *Plugin) Cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), p.proc.timeout+time.Second)
	defer cancel()
	return p.provider.Shutdown(ctx)
}

// stateKey holds a sampled request's *state between the phases.
const stateKey = "opentelemetry"

// state is what a sampled request's span needs from its request and
// response phases: where each phase started, reconstructed from the
// plugin's own place in it and the engine's step times.
type state struct {
	requestStart  time.Time
	responseStart time.Time
}

var states = sync.Pool{New: func() any { return new(state) }}

// phaseStart returns when the current phase started: now, less the
// times of the steps that ran before this one in it.
func phaseStart(c *plugin.Context, p plugin.Phase, now time.Time) time.Time {
	var d time.Duration
	for i := 0; c.StepName(i) != ""; i++ {
		d += c.StepTime(i, p)
	}
	return now.Add(-d)
}

// OnRequest implements plugin.RequestHandler: for a sampled request, it
// notes where the request phase started. Other requests cost a look at
// the sampled flag.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if t := c.Trace(); !t.Sampled() {
		return nil
	}
	st := states.Get().(*state)
	st.requestStart = phaseStart(c, plugin.PhaseRequest, time.Now())
	st.responseStart = time.Time{}
	c.SetValue(stateKey, st)
	return nil
}

// OnResponse implements plugin.ResponseHandler: it notes where the
// response phase started.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	if st, ok := c.Value(stateKey).(*state); ok {
		st.responseStart = phaseStart(c, plugin.PhaseResponse, time.Now())
	}
	return nil
}

// OnLog implements plugin.LogHandler: the response has been written (or
// its write has failed), the request's span ends when the write did and
// goes to the export queue.
func (p *Plugin) OnLog(c *plugin.Context) {
	st, ok := c.Value(stateKey).(*state)
	if !ok {
		return
	}
	c.SetValue(stateKey, nil)
	defer states.Put(st)
	p.export(c, st, c.Start().Add(c.RequestTime()))
}

// export records the spans of a sampled request: the server span, with
// the gateway's span ID, and its children.
func (p *Plugin) export(c *plugin.Context, st *state, end time.Time) {
	tr := c.Trace()
	start := c.Start()
	if st.requestStart.Before(start) {
		start = st.requestStart
	}
	psc := trace.SpanContextConfig{TraceID: tr.TraceID, SpanID: tr.ParentID, TraceFlags: trace.FlagsSampled, Remote: true}
	if ts := c.Request.Header.Peek("Tracestate"); len(ts) > 0 {
		if ts, err := trace.ParseTraceState(string(ts)); err == nil {
			psc.TraceState = ts
		}
	}
	ctx := context.WithValue(context.Background(), spanIDKey{}, ids{trace: tr.TraceID, span: tr.SpanID})
	if tr.HasParent() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(psc))
	}
	route := c.RouteName()
	method := string(c.Method())
	status := c.Response.StatusCode()
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", method),
		attribute.String("url.path", string(c.Path())),
		attribute.String("url.scheme", c.Scheme()),
		attribute.String("server.address", string(c.Host())),
		attribute.String("client.address", c.ClientIP().String()),
		attribute.Int("http.response.status_code", status),
		attribute.String("moongate.route", route),
	}
	if ua := c.Request.Header.UserAgent(); len(ua) > 0 {
		attrs = append(attrs, attribute.String("user_agent.original", string(ua)))
	}
	if !c.ResponseComplete() {
		attrs = append(attrs, attribute.Bool("moongate.response.incomplete", true))
	}
	if id := c.RequestID(); len(id) > 0 {
		attrs = append(attrs, attribute.String("moongate.request_id", string(id)))
	}
	upstream := c.UpstreamResult()
	target := upstream.Target
	if up := c.UpstreamName(); up != "" {
		attrs = append(attrs, attribute.String("moongate.upstream", up))
	}
	if target != "" {
		attrs = append(attrs, attribute.String("moongate.upstream.target", target))
		if upstream.Retries > 0 {
			attrs = append(attrs, attribute.Int("moongate.upstream.retries", upstream.Retries))
		}
	}
	_, span := p.tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if status >= 500 {
		span.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
	if p.stepSpans {
		p.children(trace.ContextWithSpan(context.Background(), span), c, st, upstream)
	}
	span.End(trace.WithTimestamp(end))
}

// children records a span for each step in each phase it ran, laid end
// to end from the start of its phase (the engine times a step from the
// end of the one before it), and one for the upstream call, between the
// two phases.
func (p *Plugin) children(ctx context.Context, c *plugin.Context, st *state, up plugin.UpstreamResult) {
	t := st.requestStart
	n := 0
	for ; c.StepName(n) != ""; n++ {
		if d := c.StepTime(n, plugin.PhaseRequest); d > 0 {
			p.stepSpan(ctx, c, n, plugin.PhaseRequest, t, d)
			t = t.Add(d)
		}
	}
	if st.responseStart.IsZero() {
		return
	}
	if up.Target != "" && st.responseStart.After(t) {
		attrs := []attribute.KeyValue{attribute.String("server.address", up.Target),
			attribute.String("moongate.upstream", c.UpstreamName())}
		if host, port, ok := splitPort(up.Target); ok {
			attrs = append(attrs[:0], attribute.String("server.address", host), attribute.Int("server.port", port),
				attribute.String("moongate.upstream", c.UpstreamName()))
		}
		if up.Status != 0 {
			attrs = append(attrs, attribute.Int("http.response.status_code", up.Status))
		}
		_, s := p.tracer.Start(ctx, "upstream "+c.UpstreamName(), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(t), trace.WithAttributes(attrs...))
		s.End(trace.WithTimestamp(st.responseStart))
	}
	t = st.responseStart
	for i := n - 1; i >= 0; i-- {
		if d := c.StepTime(i, plugin.PhaseResponse); d > 0 {
			p.stepSpan(ctx, c, i, plugin.PhaseResponse, t, d)
			t = t.Add(d)
		}
	}
}

func (p *Plugin) stepSpan(ctx context.Context, c *plugin.Context, i int, phase plugin.Phase, start time.Time, d time.Duration) {
	name := c.StepName(i)
	_, s := p.tracer.Start(ctx, name+" "+phase.String(), trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("moongate.step", name), attribute.Int("moongate.step.index", i),
			attribute.String("moongate.step.phase", phase.String())))
	s.End(trace.WithTimestamp(start.Add(d)))
}

// splitPort splits "host:port".
func splitPort(addr string) (string, int, bool) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			port, err := strconv.Atoi(addr[i+1:])
			host := addr[:i]
			if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
				host = host[1 : len(host)-1]
			}
			return host, port, err == nil
		}
	}
	return addr, 0, false
}
