package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is a whole moongate configuration file. Every field's comment gives
// its TOML key, unit and default; defaults are set in one place, Default and
// the SetDefaults methods.
type Config struct {
	Server    Server     `toml:"server"`
	Admin     Admin      `toml:"admin"`
	Echo      Echo       `toml:"echo"`
	Log       Log        `toml:"log"`
	Cache     Cache      `toml:"cache"`
	Lua       Lua        `toml:"lua"`
	Tracing   Tracing    `toml:"tracing"`
	Redis     *Redis     `toml:"redis"` // nil without a [redis] section: no client
	Upstreams []Upstream `toml:"upstreams"`
	Routes    []Route    `toml:"routes"`
	// Plugins is the global chain: it runs for every route, in order.
	Plugins []Step `toml:"plugins"`
	// RateLimits are rate limits with a name, which scripts call
	// ([[rate_limits]]). Default: none.
	RateLimits []RateLimit `toml:"rate_limits"`
	// Consumers are the clients that authentication steps identify.
	Consumers []Consumer `toml:"consumers"`
	// Auth sets the identity headers authentication steps send upstream.
	Auth Auth `toml:"auth"`
	// Metrics configures the Prometheus metrics of GET /metrics on the
	// admin listener.
	Metrics Metrics `toml:"metrics"`

	// File is the path the configuration was read from.
	File string `toml:"-"`
	// Hash is the SHA-256 of the file's bytes, in hex.
	Hash string `toml:"-"`
	// LoadedAt is when the file was read.
	LoadedAt time.Time `toml:"-"`

	lines *lineIndex
	env   *envValues // hidden from problems
	seen  *decodeLog // see RecordDecodes
}

// Server configures the public listeners. Changing it needs a restart.
type Server struct {
	// Listen is one address or a list: listen = "0.0.0.0:8080". Default "0.0.0.0:8080".
	Listen StringList `toml:"listen"`
	// TLS adds an HTTPS listener. Default: none.
	TLS *TLS `toml:"tls"`
	// ReadTimeout bounds reading one whole request, headers and body. Default "30s".
	ReadTimeout Duration `toml:"read_timeout"`
	// WriteTimeout bounds writing one response. Default "30s".
	WriteTimeout Duration `toml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. A connection
	// idle for more than 50ms holds no buffer and no goroutine meanwhile
	// (about 0.5 KB instead of 22). Default "60s".
	IdleTimeout Duration `toml:"idle_timeout"`
	// ShutdownTimeout is how long SIGTERM waits for in-flight requests. Default "30s".
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// ShutdownDelay is how long the listeners keep serving after SIGTERM
	// or SIGINT, with the admin API's /readyz answering 503 and every
	// response carrying "Connection: close", before they stop accepting
	// and in-flight requests drain (shutdown_timeout): the time a load
	// balancer in front needs to see /readyz fail and take the node out
	// (its check interval times its failure threshold). A second signal
	// ends the delay. Read when the signal comes, so a reload changes it.
	// Default "0s".
	ShutdownDelay Duration `toml:"shutdown_delay"`
	// ReusePort binds the public listeners with SO_REUSEPORT (Linux
	// only), so that a second moongate can listen on the same addresses:
	// the zero-downtime binary upgrade of docs/operations.md. A process
	// that drains hands its share of new connections to the other one.
	// Default false.
	ReusePort bool `toml:"reuse_port"`
	// MaxHeaderSize bounds the request line plus headers; larger gets 431. Default "8KB".
	MaxHeaderSize Size `toml:"max_header_size"`
	// MaxHeaderCount bounds the number of header lines of a request, each
	// repeated or empty line counted; more gets 431. Default 100.
	MaxHeaderCount int `toml:"max_header_count"`
	// MaxBodySize bounds a request body; larger gets 413. A chunked body
	// counts as sent: data, chunk-size lines and extensions, CRLFs and
	// trailer. Default "8MB".
	MaxBodySize Size `toml:"max_body_size"`
	// BufferBodySize: request bodies up to this size are read whole before
	// the chain runs (steps see them in c.Request.Body()); larger bodies are
	// streamed to the upstream as they arrive. Default "1MB".
	BufferBodySize Size `toml:"buffer_body_size"`
	// MaxConnections bounds concurrent client connections, idle keep-alive
	// ones included; a connection over it gets 503 and is closed. Default 262144.
	MaxConnections int `toml:"max_connections"`
	// TrustedProxies lists the addresses or CIDRs whose X-Forwarded-* and
	// X-Real-IP headers are believed. Default: none (every client header of
	// those names is replaced).
	TrustedProxies []string `toml:"trusted_proxies"`
	// StrictPaths refuses (400) request paths holding ';' or '\', raw or
	// percent-encoded, anywhere in the path as received: Tomcat and Jetty read ";" as path parameters ("/admin;x/",
	// "/..;/") and IIS reads "\" as "/", so such paths could reach a
	// protected resource through a route meant for another. Default true.
	StrictPaths bool `toml:"strict_paths"`
	// CaseInsensitivePaths lower-cases the path before routing, for
	// upstreams that ignore case ("/ADMIN/x" then runs the "/admin/"
	// route's chain and goes upstream as "/admin/x"). Route paths must
	// then be lower case. Default false: paths are case-sensitive, as
	// RFC 3986 says, and go upstream as received.
	CaseInsensitivePaths bool `toml:"case_insensitive_paths"`
	// ReduceMemory gives back each keep-alive connection's buffers (write
	// buffer, request and response bodies) after every request, instead of
	// keeping them for the next one. Idle connections do not need it: every
	// keep-alive connection idle for 50ms gives back everything anyway (see
	// IdleTimeout). It costs CPU on busy connections (up to a fifth more per
	// request with 10 KB bodies). Default false.
	ReduceMemory bool `toml:"reduce_memory"`
}

// TLS configures an HTTPS listener.
type TLS struct {
	// Listen is the HTTPS address or addresses. Default "0.0.0.0:8443".
	Listen StringList `toml:"listen"`
	// Cert is a PEM certificate chain file, relative to the
	// configuration file's folder. Required.
	Cert string `toml:"cert,path"`
	// Key is the PEM private key file, relative to the configuration
	// file's folder. Required.
	Key string `toml:"key,path"`
}

// SetDefaults implements Defaulter.
func (t *TLS) SetDefaults() { t.Listen = StringList{"0.0.0.0:8443"} }

// Admin configures the admin API listener.
type Admin struct {
	// Listen is the admin address; "" turns the admin API off. Default
	// "127.0.0.1:9080". A non-loopback address requires a token.
	Listen string `toml:"listen"`
	// Token, when set, must be sent as "Authorization: Bearer <token>".
	// Write it as "${MOONGATE_ADMIN_TOKEN}" to keep it out of the file. Default "".
	Token string `toml:"token,secret"`
	// AllowedHosts are the host names (or IP addresses) the admin API
	// answers to besides its own address, localhost, 127.0.0.1 and [::1]:
	// a request whose Host header names anything else gets 403, so that a
	// DNS-rebinding web page cannot reach it. Each matches with any port.
	// Default: none.
	AllowedHosts []string `toml:"allowed_hosts"`
}

// Equal reports whether a and b are the same settings.
func (a Admin) Equal(b Admin) bool {
	return a.Listen == b.Listen && a.Token == b.Token && slices.Equal(a.AllowedHosts, b.AllowedHosts)
}

// Echo configures the built-in demo upstream, which answers every request
// with a JSON description of it (method, path, query, headers, body).
type Echo struct {
	// Listen is its address; "" turns it off. Default "".
	Listen string `toml:"listen"`
}

// Log configures the process log (written to standard error).
type Log struct {
	// Level is "debug", "info", "warn" or "error". Default "info".
	Level string `toml:"level"`
	// Format is "text" or "json". Default "text".
	Format string `toml:"format"`
	// Access is where the access log of every route goes: "stdout",
	// "stderr" or the path of a file; "" writes none. It adds an
	// access-log step at the end of the global chain (unless the global
	// chain has one), which a route's own access-log step replaces.
	// Default "".
	Access string `toml:"access"`
	// AccessFormat is the format of that access log: "json", "combined"
	// (nginx's) or a template of $variables. Default "json".
	AccessFormat string `toml:"access_format"`
}

// Metrics configures moongate's metrics. Changing it needs a restart.
type Metrics struct {
	// Enabled counts requests, upstream tries, cache and script activity
	// into the series GET /metrics serves on the admin listener. Off,
	// nothing is counted and /metrics answers 404. Default true.
	Enabled bool `toml:"enabled"`
}

// Upstream is a named group of targets that routes forward to.
type Upstream struct {
	// Name is how routes refer to it. Required, unique.
	Name string `toml:"name"`
	// Balancer picks a target per request. Default "round-robin".
	Balancer string `toml:"balancer"`
	// Targets are the servers, at least one.
	Targets []Target `toml:"targets"`
	// ConnectTimeout bounds establishing a connection. Default "5s".
	ConnectTimeout Duration `toml:"connect_timeout"`
	// Timeout bounds one try, from sending the request to the end of the
	// response; past it the client gets 504. Default "60s".
	Timeout Duration `toml:"timeout"`
	// MaxConnections bounds open connections per target. Default 1024.
	MaxConnections int `toml:"max_connections"`
	// IdleTimeout closes pooled keep-alive connections idle this long. Default "60s".
	IdleTimeout Duration `toml:"idle_timeout"`
	// MaxResponseSize bounds a buffered response body; larger gets 502. Default "64MB".
	MaxResponseSize Size `toml:"max_response_size"`

	// Deadline bounds the whole upstream call, every try and the waits
	// between them; past it the client gets 504. Default "0s": no bound
	// beyond timeout per try.
	Deadline Duration `toml:"deadline"`
	// StreamThreshold: responses with a larger Content-Length, chunked or
	// close-delimited responses, and text/event-stream responses are
	// streamed to the client as they arrive instead of being buffered.
	// Default "1MB".
	StreamThreshold Size `toml:"stream_threshold"`
	// StreamIdleTimeout bounds the wait for the next bytes of a streamed
	// response body (timeout covers a streamed response until its headers).
	// Default "60s".
	StreamIdleTimeout Duration `toml:"stream_idle_timeout"`
	// HashOn is what the consistent-hash balancer hashes: "ip" (the
	// client's), "header", "cookie" (named by hash_key), "path" or
	// "consumer" (the authenticated consumer). A request without the value
	// hashes on the client IP. Default "ip".
	HashOn string `toml:"hash_on"`
	// HashKey names the header or cookie of hash_on. Default "".
	HashKey string `toml:"hash_key"`
	// WhenAllDown is what happens when no target is healthy: "panic"
	// spreads requests over all targets as if they were healthy, "fail"
	// answers 503 with Retry-After at once. Default "panic".
	WhenAllDown string `toml:"when_all_down"`
	// ResolveInterval is how often targets given by host name are resolved
	// again; on failure the last good addresses are kept. "0s" resolves
	// once. Default "30s".
	ResolveInterval Duration `toml:"resolve_interval"`
	// Health configures active health checks. [upstreams.health]
	Health Health `toml:"health"`
	// Outlier configures passive health checks. [upstreams.outlier]
	Outlier Outlier `toml:"outlier"`
	// Retries configures retries. [upstreams.retries]
	Retries Retries `toml:"retries"`
	// TLS configures connections to https:// targets. [upstreams.tls]
	TLS UpstreamTLS `toml:"tls"`
	// Sticky configures balancer = "sticky". [upstreams.sticky]
	Sticky Sticky `toml:"sticky"`
}

// SetDefaults implements Defaulter.
func (u *Upstream) SetDefaults() {
	u.Balancer = "round-robin"
	u.ConnectTimeout = Duration(5 * time.Second)
	u.Timeout = Duration(60 * time.Second)
	u.MaxConnections = 1024
	u.IdleTimeout = Duration(60 * time.Second)
	u.MaxResponseSize = 64 << 20
	u.setUpstreamDefaults()
}

// Target is one server of an upstream.
type Target struct {
	// URL is "http://host:port" or "https://host:port"; no path.
	URL string `toml:"url"`
	// Weight is the target's share of the traffic. Default 1.
	Weight int `toml:"weight"`
}

// SetDefaults implements Defaulter.
func (t *Target) SetDefaults() { t.Weight = 1 }

// Route sends matching requests through its chain to its upstream.
type Route struct {
	// Name identifies the route in logs, metrics and the admin API. Default:
	// "route-N" (N its position, from 1).
	Name string `toml:"name"`
	// Hosts are exact host names or "*.example.com" wildcards. Default: any host.
	Hosts []string `toml:"hosts"`
	// Paths are exact ("/health"), prefix (ending in "/": "/api/") or with
	// named parameters ("/users/{id}"). Default ["/"], every path.
	Paths []string `toml:"paths"`
	// Methods limits the route to these methods. Default: any method.
	Methods []string `toml:"methods"`
	// Upstream names the upstream requests go to. Default "": a step of the
	// chain must answer every request itself.
	Upstream string `toml:"upstream"`
	// StripPrefix removes the matched prefix from the path sent upstream
	// ("/api/users" on "/api/" goes up as "/users"). Default false.
	StripPrefix bool `toml:"strip_prefix"`
	// Rewrite replaces the path sent upstream by a template: "{id}" is the
	// path parameter id, "{*}" what follows a matched prefix. Default "".
	Rewrite string `toml:"rewrite"`
	// PreserveHost sends the client's Host header upstream instead of the
	// target's host. Default false.
	PreserveHost bool `toml:"preserve_host"`
	// Plugins are appended to the global chain; a step with the name of a
	// global step replaces it in place, and enabled = false turns it off.
	Plugins []Step `toml:"plugins"`

	// WebSocket lets "Upgrade: websocket" requests through to the upstream
	// (other upgrades are never forwarded). Default false.
	WebSocket bool `toml:"websocket"`
	// Timeout overrides the upstream's timeout (one try) for this route.
	// Default: the upstream's.
	Timeout Duration `toml:"timeout"`
	// ConnectTimeout overrides the upstream's connect_timeout. Default: the
	// upstream's.
	ConnectTimeout Duration `toml:"connect_timeout"`
	// Deadline overrides the upstream's deadline (all tries). Default: the
	// upstream's.
	Deadline Duration `toml:"deadline"`
	// Retries overrides the upstream's retries.attempts. Default: the
	// upstream's.
	Retries *int `toml:"retries"`
	// RetryNonIdempotent lets POST, PATCH and other non-idempotent requests
	// be retried too. A request body already streamed upstream is never
	// sent twice. Default false.
	RetryNonIdempotent bool `toml:"retry_non_idempotent"`
}

// SetDefaults implements Defaulter.
func (r *Route) SetDefaults() { r.Paths = []string{"/"} }

// Step is one step of a chain: a built-in plugin (name) or a script.
type Step struct {
	// Name is the registered plugin name ("request-id"). For a script step
	// it is an optional label that route steps can refer to.
	Name string `toml:"name"`
	// Script is the path of a script file. Relative paths in the
	// configuration (scripts, certificates, CA files, "file:" secrets,
	// the cache file) are relative to the folder of the configuration
	// file.
	Script string `toml:"script,path"`
	// Enabled turns the step off when false. Default true.
	Enabled bool `toml:"enabled"`
	// OnError is what a failing step (an error other than a deliberate
	// 4xx answer) does to its request: "fail" answers 500, "continue"
	// skips the step. Default "fail".
	OnError string `toml:"on_error"`
	// Timeout is the wall-clock deadline of each call of a script step.
	// Default: lua.timeout.
	Timeout Duration `toml:"timeout"`
	// MaxInstructions bounds the Lua VM instructions of each call of a
	// script step. Default: lua.max_instructions.
	MaxInstructions int64 `toml:"max_instructions"`
	// Metrics declares the counters a script step may count with
	// gw.metrics.inc: each name (such as "tenant_requests_total", a
	// Prometheus name ending in _total) with the label names the script
	// may give values to. They are exposed as moongate_script_<name>
	// with a "script" label. Only for script steps. Default: none.
	Metrics map[string][]string `toml:"metrics"`
	// Config is the plugin's own table, decoded by the plugin.
	Config Table `toml:"config"`
}

// SetDefaults implements Defaulter.
func (s *Step) SetDefaults() { s.Enabled = true; s.OnError = "fail" }

// ID is the step's identity in the merge of global and route chains: its
// name, or its script path when it has no name.
func (s *Step) ID() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Script
}

// Default returns a configuration with every default set and nothing else.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:          StringList{"0.0.0.0:8080"},
			ReadTimeout:     Duration(30 * time.Second),
			WriteTimeout:    Duration(30 * time.Second),
			IdleTimeout:     Duration(60 * time.Second),
			ShutdownTimeout: Duration(30 * time.Second),
			MaxHeaderSize:   8 << 10,
			MaxHeaderCount:  100,
			MaxBodySize:     8 << 20,
			BufferBodySize:  1 << 20,
			MaxConnections:  256 * 1024,
			ReduceMemory:    false,
			StrictPaths:     true,
		},
		Admin:   Admin{Listen: "127.0.0.1:9080"},
		Log:     Log{Level: "info", Format: "text", AccessFormat: "json"},
		Cache:   Cache{Size: 256 << 20, Cluster: DefaultCacheCluster()},
		Auth:    DefaultAuth(),
		Lua:     DefaultLua(),
		Tracing: DefaultTracing(),
		Metrics: Metrics{Enabled: true},
	}
}

// Load reads and checks the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Reason: strings.TrimPrefix(err.Error(), "open "+path+": ")}}
	}
	return Parse(path, data)
}

// Parse checks the configuration in data, read from file. On failure the
// error is Problems, listing everything wrong at once.
func Parse(file string, data []byte) (*Config, error) {
	src := string(data)
	var raw map[string]any
	if _, err := toml.Decode(src, &raw); err != nil {
		return nil, Problems{syntaxProblem(file, src, err)}
	}
	cfg := Default()
	rep := &reporter{file: file, lines: newLineIndex(src), env: &envValues{}}
	d := newDecoder(rep)
	d.seen = &decodeLog{}
	d.decode("", raw, reflect.ValueOf(cfg).Elem())
	resolvePaths(file, reflect.ValueOf(cfg).Elem())
	cfg.lines, cfg.env, cfg.seen = rep.lines, rep.env, d.seen
	cfg.File = file
	sum := sha256.Sum256(data)
	cfg.Hash = hex.EncodeToString(sum[:])
	cfg.LoadedAt = time.Now()
	cfg.check(rep)
	if len(rep.list) > 0 {
		return cfg, rep.list.sorted()
	}
	return cfg, nil
}

// RecordDecodes makes every Table of c call f with its key path and the
// value it is decoded into (a plugin's config struct, with its defaults,
// or a consumer's credentials), from then on: `moongate config dump`
// builds the configuration with it, to print what each plugin read. f is
// called from the goroutine that decodes, one call at a time.
func (c *Config) RecordDecodes(f func(path string, v any)) {
	if c.seen == nil {
		c.seen = &decodeLog{}
	}
	c.seen.mu.Lock()
	c.seen.f = f
	c.seen.mu.Unlock()
}

// ReleaseSource lets go of the file's text, which c keeps to find the
// line of a problem: problems reported afterwards, by c or by its tables,
// name no line. The gateway calls it once it has built a runtime from c,
// which keeps c for its life: a file of a million [[consumers]] is tens of
// megabytes, their API keys included.
func (c *Config) ReleaseSource() { c.lines.release() }

// Problem returns a problem located at key path in cfg's file, for checks
// made outside this package (plugin names, script files, balancers).
func (c *Config) Problem(path, reason string) Problem {
	return Problem{File: c.File, Line: c.lines.line(path), Key: path, Reason: c.env.redact(reason)}
}

func syntaxProblem(file, src string, err error) Problem {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return Problem{File: file, Reason: "syntax error: " + err.Error()}
	}
	p := Problem{File: file, Line: pe.Position.Line, Column: pe.Position.Col, Reason: "syntax error: " + pe.Message}
	// The parser misplaces some errors at the end of the file (line 0, or
	// the line before), and its snippet then panics: place the error by
	// its byte offset, and show the snippet only where the parser agrees.
	src = stripBOM(src)
	if start := pe.Position.Start; start >= 0 && start <= len(src) {
		if line := 1 + strings.Count(src[:start], "\n"); line != p.Line {
			p.Line, p.Column = line, start-strings.LastIndexByte(src[:start], '\n')
			return p
		}
	}
	if p.Line < 1 || p.Line > strings.Count(src, "\n")+1 {
		p.Line, p.Column = 0, 0
		return p
	}
	p.Snippet = snippet(pe)
	return p
}

// snippet returns the source excerpt of a syntax error, or "" if the
// parser cannot make one: it has panicked on positions it got wrong, and
// a reload must never take the gateway down.
func snippet(pe toml.ParseError) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	// The first line repeats the message; keep the source excerpt.
	if _, rest, ok := strings.Cut(pe.ErrorWithPosition(), "\n"); ok {
		return strings.Trim(rest, "\n")
	}
	return ""
}
