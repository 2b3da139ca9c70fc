package accesslog

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"github.com/moongate/moongate/core/accesslog"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

// Name is the plugin's name in TOML.
const Name = "access-log"

func init() { plugin.Register(Name, New) }

// Config is the plugin's TOML table.
type Config struct {
	// Output is where lines go: "stdout", "stderr", or the path of a file
	// (relative to the configuration file's folder; created with mode
	// 0640, appended to). Default: [log] access, or
	// "stdout" when it is "".
	Output string `toml:"output"`
	// Format is "json" (JSON lines), "combined" (nginx's) or a template
	// of $variables. Default: [log] access_format ("json").
	Format string `toml:"format"`
	// Escape is how a template escapes values: "default" (nginx's \xHH,
	// absent values "-") or "json" (for a template that writes JSON).
	// Default "default".
	Escape string `toml:"escape"`
	// LocalTime writes times in the local time zone. Default false: UTC.
	LocalTime bool `toml:"local_time"`
	// RedactQuery names more query parameters whose values are replaced
	// by "[redacted]", besides the query names of the key-auth and jwt
	// steps and access_token. Default [].
	RedactQuery []string `toml:"redact_query"`
	// BufferSize is the size of a batch: lines are written with one
	// write per batch. Default "64KB".
	BufferSize config.Size `toml:"buffer_size"`
	// FlushInterval bounds how long a line waits in memory. Default "1s".
	FlushInterval config.Duration `toml:"flush_interval"`
	// MaxBuffered bounds the memory of lines waiting to be written;
	// beyond it, new lines are dropped and counted. Default "4MB".
	MaxBuffered config.Size `toml:"max_buffered"`
}

// format is a line format.
type format uint8

const (
	formatJSON format = iota
	formatCombined
	formatTemplate
)

// Plugin is an instance of access-log.
type Plugin struct {
	out    *output
	format format
	tpl    *accesslog.Template
	redact []string
	local  bool
}

var (
	_ plugin.LogHandler = (*Plugin)(nil)
	_ plugin.Cleaner    = (*Plugin)(nil)
	_ plugin.Reopener   = (*Plugin)(nil)
)

// alwaysRedacted are query parameters that carry credentials whatever the
// configuration: access_token is OAuth's bearer token in a query (RFC
// 6750 §2.3).
var alwaysRedacted = []string{"access_token"}

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	settings := spec.Settings()
	if settings == nil {
		settings = config.Default()
	}
	cfg := Config{Output: settings.Log.Access, Format: settings.Log.AccessFormat, Escape: "default",
		BufferSize: accesslog.DefaultBufferSize, FlushInterval: config.Duration(accesslog.DefaultFlushInterval),
		MaxBuffered: accesslog.DefaultMaxBuffered}
	if cfg.Output == "" {
		cfg.Output = "stdout"
	}
	if cfg.Format == "" {
		cfg.Format = "json"
	}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	configured := cfg.Output
	// A file path is relative to the configuration file's folder, as
	// every path of the configuration is.
	if cfg.Output != "stdout" && cfg.Output != "stderr" {
		cfg.Output = settings.Path(cfg.Output)
	}
	// The step [log] access adds has its settings, and its problems, in [log].
	implicit := spec.Path == "log"
	problem := func(key, reason string) error {
		if !implicit {
			return spec.Config.Problem(key, reason)
		}
		switch key {
		case "format", "escape":
			key = "log.access_format"
		default:
			key = "log.access"
		}
		return settings.Problem(key, reason)
	}
	p := &Plugin{local: cfg.LocalTime}
	switch {
	case cfg.Format == "json":
		p.format = formatJSON
	case cfg.Format == "combined":
		p.format = formatCombined
	case strings.Contains(cfg.Format, "$"):
		esc := accesslog.EscapeDefault
		switch cfg.Escape {
		case "default":
		case "json":
			esc = accesslog.EscapeJSON
		default:
			return nil, problem("escape", `must be "default" or "json", got `+strconv.Quote(cfg.Escape))
		}
		tpl, err := accesslog.NewTemplate(cfg.Format, esc)
		if err != nil {
			return nil, problem("format", err.Error())
		}
		p.format, p.tpl = formatTemplate, tpl
	default:
		return nil, problem("format", `must be "json", "combined" or a template of $variables, got `+strconv.Quote(cfg.Format))
	}
	switch {
	case cfg.Output == "":
		return nil, problem("output", `must be "stdout", "stderr" or a file path`)
	case cfg.BufferSize < 1<<10:
		return nil, problem("buffer_size", "must be at least 1KB, got "+cfg.BufferSize.String())
	case cfg.FlushInterval <= 0:
		return nil, problem("flush_interval", "must be more than 0s")
	case cfg.MaxBuffered < cfg.BufferSize:
		return nil, problem("max_buffered", "must be at least buffer_size ("+cfg.BufferSize.String()+"), got "+
			cfg.MaxBuffered.String())
	}
	for i, n := range cfg.RedactQuery {
		if n == "" {
			return nil, problem("redact_query["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
	p.redact = append(append(credentialQueries(settings), alwaysRedacted...), cfg.RedactQuery...)
	out, err := openOutput(cfg.Output, accesslog.Options{BufferSize: cfg.BufferSize.Int(),
		FlushInterval: cfg.FlushInterval.Std(), MaxBuffered: cfg.MaxBuffered.Int()}, spec.Logger())
	if err != nil {
		return nil, problem("output", "cannot open the access log: "+err.Error())
	}
	p.out = out
	// The output's counters, read when GET /metrics is scraped; the
	// output (and its counts) is shared by the steps writing there and
	// kept across reloads.
	m, w := spec.Metrics(), out.w
	m.CounterFunc("moongate_accesslog_dropped_total", func() float64 { return float64(w.Dropped()) }, "output", configured)
	m.CounterFunc("moongate_accesslog_write_errors_total", func() float64 { return float64(w.WriteErrors()) }, "output", configured)
	return p, nil
}

// credentialQueries returns the query parameters the key-auth and jwt
// steps of cfg read credentials from (multi-auth's steps included).
func credentialQueries(cfg *config.Config) []string {
	var names []string
	var visit func(steps []config.Step)
	visit = func(steps []config.Step) {
		for i := range steps {
			st := &steps[i]
			switch st.Name {
			case "key-auth", "jwt":
				var q struct {
					Query string `toml:"query"`
				}
				if st.Config.Only("query").Decode(&q) == nil && q.Query != "" {
					names = append(names, q.Query)
				}
			case "multi-auth":
				var m struct {
					Steps []config.Step `toml:"steps"`
				}
				if st.Config.Only("steps").Decode(&m) == nil {
					visit(m.Steps)
				}
			}
		}
	}
	visit(cfg.Plugins)
	for i := range cfg.Routes {
		visit(cfg.Routes[i].Plugins)
	}
	return names
}

// line is what one log phase writes with: the record and the buffers it
// points into, pooled.
type line struct {
	p       *Plugin
	rec     accesslog.Record
	buf     []byte // the line
	query   []byte // the redacted query
	referer []byte // the Referer, its query redacted
	names   []byte // names from the configuration, copied
	own     []byte // the fields of the request and response, copied (CaptureLog)
}

var lines = sync.Pool{New: func() any { return &line{} }}

// maxKept bounds the buffers a pooled line keeps.
const maxKept = 64 << 10

var (
	_ plugin.LogCapturer = (*Plugin)(nil)
	_ plugin.CapturedLog = (*line)(nil)
)

// OnLog implements plugin.LogHandler: it writes the request's line.
func (p *Plugin) OnLog(c *plugin.Context) {
	l := lines.Get().(*line)
	l.p = p
	p.fill(l, c)
	l.write()
}

// CaptureLog implements plugin.LogCapturer: it fills the request's line
// but for how the write went, with the values of the request and response
// copied; FinishLog writes it.
func (p *Plugin) CaptureLog(c *plugin.Context) plugin.CapturedLog {
	l := lines.Get().(*line)
	l.p = p
	p.fill(l, c)
	l.detach()
	return l
}

// FinishLog implements plugin.CapturedLog: it writes the line with the
// bytes sent and the request time, then gives the line back to the pool.
func (l *line) FinishLog(c *plugin.Context) {
	l.rec.BytesSent = int64(c.BodySize())
	l.rec.RequestTime = c.RequestTime()
	l.write()
}

// detach copies the record's fields that point into the request or the
// response (fasthttp reuses them once the response is written) into l.own.
func (l *line) detach() {
	r := &l.rec
	fields := [...]*[]byte{&r.RequestID, &r.Method, &r.Path, &r.Protocol, &r.CacheStatus, &r.UserAgent, &r.Traceparent}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	if cap(l.own) < n {
		l.own = make([]byte, 0, 2*n)
	}
	b := l.own[:0]
	for _, f := range fields {
		start := len(b)
		b = append(b, *f...)
		*f = b[start:len(b):len(b)]
	}
	l.own = b
}

// write formats the line, hands it to the output, and puts l back in the
// pool.
func (l *line) write() {
	p := l.p
	switch p.format {
	case formatJSON:
		l.buf = accesslog.AppendJSON(l.buf[:0], &l.rec)
	case formatCombined:
		l.buf = accesslog.AppendCombined(l.buf[:0], &l.rec)
	default:
		l.buf = p.tpl.Append(l.buf[:0], &l.rec)
	}
	p.out.w.Write(l.buf) //nolint:errcheck // a dropped line is counted by the writer
	l.rec, l.p = accesslog.Record{}, nil
	if cap(l.buf) > maxKept || cap(l.query) > maxKept || cap(l.referer) > maxKept || cap(l.own) > maxKept {
		return
	}
	lines.Put(l)
}

// fill fills l.rec from the request, pointing into c and l's buffers.
func (p *Plugin) fill(l *line, c *plugin.Context) {
	r := &l.rec
	r.Time = c.Start().UTC()
	if p.local {
		r.Time = r.Time.Local()
	}
	r.RequestID = c.RequestID()
	r.ClientIP = c.ClientIP()
	r.Method = c.Method()
	r.Path = c.Path()
	if q := c.Request.URI().QueryString(); len(q) > 0 {
		l.query = accesslog.AppendRedactedQuery(l.query[:0], q, p.redact)
		r.Query = l.query
	}
	r.Protocol = c.Request.Header.Protocol()
	r.Status = c.Response.StatusCode()
	r.BytesSent = int64(c.BodySize())
	r.BytesReceived = c.RequestBodySize()
	r.RequestTime = c.RequestTime()
	up := c.UpstreamResult()
	var upstream, route, consumer string
	if up.Target != "" {
		upstream = c.UpstreamName()
		r.UpstreamStatus, r.UpstreamTime, r.Retries = up.Status, up.Time, up.Retries
	}
	route = c.RouteName()
	if c.Consumer != nil {
		consumer = c.Consumer.Name
	}
	// The names are strings of the configuration: copied into one buffer
	// (a []byte of a string would allocate), sized first so that the
	// slices taken stay valid.
	n := len(upstream) + len(up.Target) + len(route) + len(consumer)
	if cap(l.names) < n {
		l.names = make([]byte, 0, 2*n)
	}
	b := l.names[:0]
	b, r.Upstream = appendName(b, upstream)
	b, r.UpstreamTarget = appendName(b, up.Target)
	b, r.Route = appendName(b, route)
	b, r.Consumer = appendName(b, consumer)
	l.names = b
	r.CacheStatus = c.Response.Header.Peek("X-Cache-Status")
	r.UserAgent = c.Request.Header.UserAgent()
	if ref := c.Request.Header.Referer(); len(ref) > 0 {
		l.referer = redactURL(l.referer[:0], ref, p.redact)
		r.Referer = l.referer
	}
	r.Traceparent = traceparent(c)
}

func appendName(b []byte, s string) ([]byte, []byte) {
	start := len(b)
	b = append(b, s...)
	return b, b[start:len(b):len(b)]
}

// redactURL appends url with its query's credentials redacted.
func redactURL(dst, url []byte, names []string) []byte {
	q := bytes.IndexByte(url, '?')
	if q < 0 {
		return append(dst, url...)
	}
	dst = append(dst, url[:q+1]...)
	query, frag := url[q+1:], []byte(nil)
	if h := bytes.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	dst = accesslog.AppendRedactedQuery(dst, query, names)
	return append(dst, frag...)
}

// TraceparentKey is the per-request value (Context.Value) holding the
// request's W3C traceparent, as a string or []byte, when a step made or
// changed it (tracing); otherwise the log reads the traceparent request
// header as it was sent upstream.
const TraceparentKey = "traceparent"

func traceparent(c *plugin.Context) []byte {
	switch v := c.Value(TraceparentKey).(type) {
	case []byte:
		return v
	case string:
		if v != "" {
			// Kept in the request's scratch buffer: a []byte of the
			// string would allocate.
			b := append(c.Scratch(), v...)
			c.KeepScratch(b)
			return b
		}
	}
	return c.Request.Header.Peek("Traceparent")
}

// Reopen implements plugin.Reopener: it reopens the output file at its
// path (after log rotation renamed it).
func (p *Plugin) Reopen() error { return p.out.w.Reopen() }

// Cleanup implements plugin.Cleaner: the last step using the output
// writes the lines left and closes it.
func (p *Plugin) Cleanup() error { return p.out.close() }

// Writer returns the writer of the step's output, shared by the steps
// writing there (for its counters).
func (p *Plugin) Writer() *accesslog.Writer { return p.out.w }
