package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/admin"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/dashboard"
	"github.com/moongate/moongate/core/internal/chain"
	"github.com/moongate/moongate/core/internal/echo"
	"github.com/moongate/moongate/core/internal/registered"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/router"
	"github.com/moongate/moongate/core/store"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

// Gateway is a running moongate: listeners, the current runtime, the admin
// API and the demo echo upstream.
type Gateway struct {
	file   string
	logger *slog.Logger
	rt     atomic.Pointer[Runtime]
	cache  *store.Store
	// redis is the process's Redis client, built from redisCfg, the
	// [redis] of the start (or of the first reload that had one); nil
	// until a configuration has [redis]. Guarded by reloadMu.
	redis    redis.UniversalClient
	redisCfg *config.Redis

	servers   []*fasthttp.Server
	listeners []net.Listener
	park      *parker // idle connections of every listener (idle.go)
	admin     *admin.Server
	echo      *echo.Server
	started   time.Time
	wg        sync.WaitGroup

	reloadMu sync.Mutex
	reloads  reloadStats

	stopWatch chan struct{} // lua.watch; nil when off
	stopQuiet chan struct{} // stops releaseWhenQuiet (memory.go); nil before Start
	// stopBackground closes stopWatch and stopQuiet once (Shutdown may be
	// called again).
	stopBackground sync.Once
	stopping       atomic.Bool
	largeLoad      bool // the first runtime's build was large: Start gives its memory back (memory.go)
	saveOnce       sync.Once

	ready    atomic.Bool // Start bound every listener (see Ready)
	draining atomic.Bool // Drain or Shutdown was called
	meter    *meter      // nil when [metrics] is off
	// The runtimes a reload replaced, until they are closed (their
	// series are still read by /metrics).
	retiredMu sync.Mutex
	retired   []*Runtime
}

type reloadStats struct {
	OK        int       `json:"ok"`
	Failed    int       `json:"failed"`
	LastError string    `json:"last_error,omitempty"`
	LastAt    time.Time `json:"last_at,omitzero"`

	history []ReloadRecord // newest first, see record
}

// New builds the first runtime from cfg, read from file (the file reloads
// read again). Nothing listens until Start.
func New(cfg *config.Config, logger *slog.Logger) (*Gateway, error) {
	if logger == nil {
		logger = slog.Default()
	}
	rc, err := newRedis(cfg, logger)
	if err != nil {
		return nil, err
	}
	shared := openCache(cfg, logger)
	g := &Gateway{file: cfg.File, logger: logger, cache: shared, redis: rc, redisCfg: cfg.Redis}
	if cfg.Metrics.Enabled {
		g.meter = newMeter(g)
	}
	mark := allocated()
	rt, err := build(cfg, shared, rc, false, nil, logger, g.meter.registry())
	if err != nil {
		if rc != nil {
			rc.Close()
		}
		return nil, err
	}
	for _, w := range rt.Warnings() {
		logger.Warn(w.Error())
	}
	g.largeLoad = large(mark)
	g.rt.Store(rt)
	rt.metrics.commit()
	return g, nil
}

// Cache returns the process-wide shared cache.
func (g *Gateway) Cache() *store.Store { return g.cache }

// Runtime returns the runtime serving new requests.
func (g *Gateway) Runtime() *Runtime { return g.rt.Load() }

// Start binds every listener (the public ones, TLS, admin, echo) and
// serves in the background. If any address cannot be bound, nothing is
// left listening and the error names the address.
func (g *Gateway) Start() error {
	cfg := g.Runtime().Config
	g.started = time.Now()
	fail := func(err error) error {
		g.closeListeners()
		return err
	}
	if cfg.Echo.Listen != "" {
		e, err := echo.Start(cfg.Echo.Listen)
		if err != nil {
			return fail(errors.New("echo.listen: " + err.Error()))
		}
		g.echo = e
	}
	for _, addr := range cfg.Server.Listen {
		if err := g.listen(addr, nil); err != nil {
			return fail(errors.New("server.listen: " + err.Error()))
		}
	}
	if cfg.Server.TLS != nil {
		cert, err := loadCertificate(cfg)
		if err != nil {
			return fail(err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"http/1.1"}}
		for _, addr := range cfg.Server.TLS.Listen {
			if err := g.listen(addr, tc); err != nil {
				return fail(errors.New("server.tls.listen: " + err.Error()))
			}
		}
	}
	if cfg.Admin.Listen != "" {
		g.admin = admin.New(admin.Options{Token: cfg.Admin.Token, AllowedHosts: cfg.Admin.AllowedHosts})
		g.registerAdmin(g.admin)
		g.registerHealth(g.admin)
		if err := g.admin.Start(cfg.Admin.Listen); err != nil {
			return fail(errors.New("admin.listen: " + err.Error()))
		}
	}
	for i, s := range g.servers {
		ln := g.listeners[i]
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := s.Serve(ln); err != nil && !g.stopping.Load() {
				g.logger.Error("listener stopped", "addr", ln.Addr().String(), "error", err)
			}
		}()
	}
	if cfg.Server.ReusePort {
		if w := checkMigrateReq(); w != "" {
			g.logger.Warn(w)
		}
	}
	if cfg.Lua.Watch {
		g.stopWatch = make(chan struct{})
		// The first scan is made now, so that a change right after Start is seen.
		go g.watchScripts(cfg.Lua.Dir, scanTree(cfg.Lua.Dir), g.stopWatch)
	}
	if g.largeLoad {
		releaseMemory() // the caller has dropped the configuration by now
	}
	g.stopQuiet = make(chan struct{})
	go releaseWhenQuiet(g.stopQuiet, quietTick, g.park.parks, releasePooled)
	g.ready.Store(true)
	g.logger.Info("moongate started", "version", VersionInfo().Version, "listen", strings.Join(g.Addrs(), ","),
		"admin", g.AdminAddr(), "config", g.file, "routes", len(cfg.Routes), "upstreams", len(cfg.Upstreams))
	return nil
}

func (g *Gateway) listen(addr string, tc *tls.Config) error {
	var ln net.Listener
	var err error
	if g.Runtime().Config.Server.ReusePort {
		ln, err = listenReusePort(addr)
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return err
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	srv := g.newServer(g.Runtime().Config)
	if g.park == nil {
		g.park = newParker()
	}
	g.listeners = append(g.listeners, listener{Listener: ln, buf: srv.ReadBufferSize, srv: srv, park: g.park,
		limit: &connLimit{max: int64(srv.Concurrency)}})
	g.servers = append(g.servers, srv)
	return nil
}

// writeBufferSize is the buffer fasthttp writes a response through. A
// response whose head and body fit in it goes out in one write: with
// fasthttp's default (4 KB), a 10 KB body took two (the buffer filled
// with the head and the start of the body, then the rest), one system
// call more per response and about a quarter more CPU per cache hit of
// 10 KB. A connection holds it only while it is served: a parked idle
// connection gives it back (idle.go). The upstream side uses the same
// size (core/upstream, Target).
const writeBufferSize = 16 << 10

func (g *Gateway) newServer(cfg *config.Config) *fasthttp.Server {
	s := &cfg.Server
	return &fasthttp.Server{
		Handler:      g.ServeHTTP,
		ErrorHandler: g.parseError,
		// A body announced over max_body_size is refused from the head,
		// before any of it is read; see headerReceived.
		HeaderReceived: g.headerReceived,
		ExpectHandler:  g.expect,
		// Resets the per-request state of the connection (see conn).
		ConnState:            connState,
		Name:                 "moongate",
		ReadTimeout:          s.ReadTimeout.Std(),
		WriteTimeout:         s.WriteTimeout.Std(),
		IdleTimeout:          s.IdleTimeout.Std(),
		ReadBufferSize:       s.MaxHeaderSize.Int(),
		WriteBufferSize:      writeBufferSize,
		MaxRequestBodySize:   s.MaxBodySize.Int(),
		Concurrency:          s.MaxConnections,
		NoDefaultContentType: true,
		CloseOnShutdown:      true,
		// Large request bodies stream to the upstream; see prepareBody.
		StreamRequestBody: true,
		// Multipart bodies are bytes like any other: fasthttp would
		// otherwise read them whole (to temporary files past 16MB) before
		// the handler, whatever max_body_size says, and forward them
		// re-encoded.
		DisablePreParseMultipartForm: true,
		// fasthttp's errors would otherwise quote the request's bytes;
		// fasthttpLogger drops what is left.
		SecureErrorLogMessage: true,
		ReduceMemoryUsage:     s.ReduceMemory,
		// Headers are forwarded as received, with names in canonical case.
		DisableHeaderNamesNormalizing: false,
		Logger:                        fasthttpLogger{g.logger},
	}
}

func (g *Gateway) closeListeners() {
	for _, ln := range g.listeners {
		ln.Close()
	}
	if g.admin != nil {
		g.admin.Close()
	}
	if g.echo != nil {
		g.echo.Close()
	}
}

// Addrs returns the addresses the public listeners are bound to.
func (g *Gateway) Addrs() []string {
	out := make([]string, len(g.listeners))
	for i, ln := range g.listeners {
		out[i] = ln.Addr().String()
	}
	return out
}

// AdminAddr returns the admin API's address, "" when it is off.
func (g *Gateway) AdminAddr() string {
	if g.admin == nil {
		return ""
	}
	return g.admin.Addr()
}

// ServeHTTP serves one request on the current runtime.
func (g *Gateway) ServeHTTP(fc *fasthttp.RequestCtx) {
	if g.draining.Load() {
		// The client reconnects for its next request: elsewhere, once a
		// load balancer saw /readyz fail or the kernel steers (reuse_port).
		defer fc.SetConnectionClose()
	}
	rt := g.rt.Load()
	rt.inflight.Add(1)
	c := reqctx.Acquire(fc)
	defer g.recoverPanic(c, rt)

	path := fc.Request.URI().Path()
	if status, msg := rt.checkRequest(fc, path); status != 0 {
		reqctx.WriteError(&fc.Response, status, msg, nil)
		fc.SetConnectionClose()
		rt.metrics.handled(fc, c)
		rt.release(c)
		return
	}
	if !prepareBody(fc, rt) {
		rt.metrics.handled(fc, c)
		rt.release(c)
		return
	}
	id, res := rt.router.Match(fc.Request.Header.Method(), fc.Request.Header.Host(), path, &c.Params)
	if res != router.Found {
		g.noRoute(fc, rt, res, path)
		rt.metrics.handled(fc, c)
		rt.release(c)
		return
	}
	m := &rt.matches[id]
	c.Setup(&m.route.Route, m.prefixSegs, rt.trusted, rt.lookup, rt.logger)
	rt.stripClientHeaders(&fc.Request.Header, m.route)
	rt.startTrace(c)
	m.route.Serve(c)
	rt.metrics.handled(fc, c)
	if m.route.Chain.HasLog() {
		rt.logAfterWrite(fc, c)
		return
	}
	rt.release(c)
}

// recoverPanic turns a panic in a step into a 500 for its request only.
func (g *Gateway) recoverPanic(c *reqctx.Context, rt *Runtime) {
	p := recover()
	if p == nil {
		return
	}
	g.logger.Error("panic while serving a request", "route", c.RouteName(), "panic", p,
		"request_id", string(c.RequestID()))
	if c.Fast != nil {
		reqctx.WriteError(&c.Fast.Response, 500, "internal error", c.RequestID())
		rt.metrics.handled(c.Fast, c)
	}
	rt.release(c)
}

func (g *Gateway) noRoute(fc *fasthttp.RequestCtx, rt *Runtime, res router.Result, path []byte) {
	if res == router.MethodNotAllowed {
		allow := rt.router.Allowed(fc.Request.Header.Host(), path)
		reqctx.WriteError(&fc.Response, 405, "method not allowed", nil)
		fc.Response.Header.Set("Allow", strings.Join(allow, ", "))
		return
	}
	reqctx.WriteError(&fc.Response, 404, "no route matches the request", nil)
}

// parseError answers requests fasthttp could not read, in the gateway's
// error format: 431 for headers over max_header_size, 413 for bodies over
// max_body_size, 408 for a client too slow, 400 otherwise.
func (g *Gateway) parseError(fc *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		reqctx.WriteError(&fc.Response, 431, "request headers too large", nil)
	case errors.Is(err, errBareLF):
		reqctx.WriteError(&fc.Response, 400, errBareLF.Error(), nil)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		reqctx.WriteError(&fc.Response, 413, "request body too large", nil)
	case errors.As(err, &netErr) && netErr.Timeout():
		reqctx.WriteError(&fc.Response, 408, "request timeout", nil)
	default:
		reqctx.WriteError(&fc.Response, 400, "malformed request", nil)
	}
	g.Runtime().metrics.observeRefused(fc)
}

// ReloadResult is the outcome of a reload.
type ReloadResult struct {
	OK       bool             `json:"ok"`
	Hash     string           `json:"hash,omitempty"`
	Errors   []config.Problem `json:"-"`
	Messages []string         `json:"errors,omitempty"`
	Warnings []string         `json:"warnings,omitempty"`
}

// Reload reads the configuration file again, builds a new runtime and
// swaps it in. In-flight requests finish on the old runtime, whose plugins
// and pools are released once they are done. A configuration with problems
// is refused and the old one keeps serving.
func (g *Gateway) Reload() ReloadResult {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	res := g.reload()
	g.meter.reloaded(res.OK)
	g.reloads.LastAt = time.Now()
	g.reloads.record(g.reloads.LastAt, res, g.Runtime().Config.Hash)
	if res.OK {
		g.reloads.OK++
		g.reloads.LastError = ""
		g.logger.Info("configuration reloaded", "config", g.file, "hash", short(res.Hash), "warnings", len(res.Warnings))
		for _, w := range res.Warnings {
			g.logger.Warn("reload: " + w)
		}
	} else {
		g.reloads.Failed++
		g.reloads.LastError = strings.Join(res.Messages, "\n")
		g.logger.Error("reload refused, the previous configuration keeps serving", "config", g.file,
			"problems", len(res.Messages))
		for _, m := range res.Messages {
			g.logger.Error("reload: " + m)
		}
	}
	return res
}

func (g *Gateway) reload() ReloadResult {
	mark := allocated()
	var fresh redis.UniversalClient // made by this reload: the first [redis]
	rt, err := load(g.file, g.cache, func(cfg *config.Config) (redis.UniversalClient, error) {
		if g.redis != nil {
			return g.redis, nil
		}
		c, err := newRedis(cfg, g.logger)
		fresh = c
		return c, err
	}, g.logger, g.meter.registry())
	if fresh != nil {
		if err != nil {
			fresh.Close()
		} else {
			g.redis, g.redisCfg = fresh, rt.Config.Redis
		}
	}
	largeLoad := large(mark)
	if err != nil {
		if largeLoad {
			releaseMemory()
		}
		ps := config.AsProblems(err)
		r := ReloadResult{Errors: ps}
		for _, p := range ps {
			r.Messages = append(r.Messages, p.Error())
		}
		return r
	}
	old := g.rt.Swap(rt)
	rt.metrics.commit()
	if largeLoad {
		releaseMemory()
	}
	g.retiredMu.Lock()
	g.retired = append(g.retired, old)
	g.retiredMu.Unlock()
	go func() {
		old.Close(old.Config.Server.ShutdownTimeout.Std())
		g.retiredMu.Lock()
		for i, d := range g.retired {
			if d == old {
				g.retired = append(g.retired[:i], g.retired[i+1:]...)
				break
			}
		}
		g.retiredMu.Unlock()
		if largeLoad {
			releaseMemory() // the old runtime's too
		}
	}()
	warnings := restartOnly(old.Config, rt.Config)
	if g.redisCfg != nil && rt.Config.Redis != nil && !g.redisCfg.Equal(rt.Config.Redis) {
		warnings = append(warnings, "[redis] changed: it takes effect after a restart (the client built from the previous [redis] keeps serving)")
	}
	for _, w := range rt.Warnings() {
		warnings = append(warnings, w.Error())
	}
	return ReloadResult{OK: true, Hash: rt.Config.Hash, Warnings: warnings}
}

// restartOnly lists the settings that changed but only take effect after
// a restart (listeners and their limits).
func restartOnly(old, cur *config.Config) []string {
	var out []string
	if strings.Join(old.Server.Listen, ",") != strings.Join(cur.Server.Listen, ",") ||
		(old.Server.TLS == nil) != (cur.Server.TLS == nil) ||
		old.Server.ReadTimeout != cur.Server.ReadTimeout || old.Server.WriteTimeout != cur.Server.WriteTimeout ||
		old.Server.IdleTimeout != cur.Server.IdleTimeout || old.Server.MaxHeaderSize != cur.Server.MaxHeaderSize ||
		old.Server.MaxBodySize != cur.Server.MaxBodySize || old.Server.MaxConnections != cur.Server.MaxConnections ||
		old.Server.ReusePort != cur.Server.ReusePort {
		out = append(out, "[server] listeners and limits changed: they take effect after a restart")
	}
	if !old.Admin.Equal(cur.Admin) {
		out = append(out, "[admin] changed: it takes effect after a restart")
	}
	if old.Echo != cur.Echo {
		out = append(out, "[echo] changed: it takes effect after a restart")
	}
	if old.Cache != cur.Cache {
		out = append(out, "[cache] changed: it takes effect after a restart")
	}
	if old.Lua.Watch != cur.Lua.Watch || (cur.Lua.Watch && old.Lua.Dir != cur.Lua.Dir) {
		out = append(out, "lua.watch changed: it takes effect after a restart")
	}
	if old.Metrics != cur.Metrics {
		out = append(out, "[metrics] changed: it takes effect after a restart")
	}
	if old.Log.Level != cur.Log.Level || old.Log.Format != cur.Log.Format {
		out = append(out, "log.level and log.format changed: they take effect after a restart")
	}
	return out
}

// ReopenLogs reopens the files the plugins of the runtime being served
// write to (plugin.Reopener: the access log), after log rotation renamed
// them; run on SIGUSR1. It returns the errors of the files that could not
// be reopened (they are written to at their old place meanwhile).
func (g *Gateway) ReopenLogs() error {
	var errs []error
	for _, inst := range g.Runtime().instances {
		if r, ok := inst.(plugin.Reopener); ok {
			if err := r.Reopen(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Shutdown stops accepting connections, lets in-flight requests finish
// until ctx ends, and releases everything. Idle keep-alive connections are
// closed at once; busy ones get "Connection: close" on their last response.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.draining.Store(true)
	g.stopping.Store(true)
	g.park.close()
	var wg sync.WaitGroup
	errs := make([]error, len(g.servers))
	for i, s := range g.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.ShutdownWithContext(ctx)
		}()
	}
	wg.Wait()
	g.park.wait(ctx.Done())
	// A server whose Serve goroutine had not started yet does not know its
	// listener: close them all, so that such a Serve returns at once.
	for _, ln := range g.listeners {
		ln.Close()
	}
	g.stopBackground.Do(func() {
		if g.stopWatch != nil {
			close(g.stopWatch)
		}
		if g.stopQuiet != nil {
			close(g.stopQuiet)
		}
	})
	if g.admin != nil {
		g.admin.Close()
	}
	if g.echo != nil {
		g.echo.Close()
	}
	rt := g.Runtime()
	wait := time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = max(time.Until(d), 0)
	}
	rt.Close(wait)
	g.wg.Wait()
	g.saveCache()
	g.reloadMu.Lock()
	if g.redis != nil {
		g.redis.Close()
	}
	g.reloadMu.Unlock()
	return errors.Join(errs...)
}

// Status is what GET /status on the admin API answers.
type Status struct {
	Version       string      `json:"version"`
	UptimeSeconds float64     `json:"uptime_seconds"`
	Config        ConfigInfo  `json:"config"`
	Routes        int         `json:"routes"`
	Upstreams     int         `json:"upstreams"`
	Plugins       []string    `json:"plugins"`
	InFlight      int64       `json:"in_flight"`
	Reloads       reloadStats `json:"reloads"`
	LogDropped    uint64      `json:"log_dropped"`
	Cache         store.Stats `json:"cache"`
}

// ConfigInfo identifies the configuration being served.
type ConfigInfo struct {
	File     string    `json:"file"`
	Hash     string    `json:"hash"`
	LoadedAt time.Time `json:"loaded_at"`
}

// Status reports the gateway's state.
func (g *Gateway) Status() Status {
	rt := g.Runtime()
	g.reloadMu.Lock()
	reloads := g.reloads
	g.reloadMu.Unlock()
	return Status{
		Version:       VersionInfo().Version,
		UptimeSeconds: time.Since(g.started).Round(time.Millisecond).Seconds(),
		Config:        ConfigInfo{File: rt.Config.File, Hash: rt.Config.Hash, LoadedAt: rt.Config.LoadedAt},
		Routes:        len(rt.routes),
		Upstreams:     len(rt.upstreams),
		Plugins:       plugin.Names(),
		InFlight:      rt.InFlight(),
		Reloads:       reloads,
		LogDropped:    chain.LogDropped(),
		Cache:         g.cache.Stats(),
	}
}

func (g *Gateway) registerAdmin(a *admin.Server) {
	// The plugins' endpoints first: the gateway's own win a clash.
	registered.AdminEndpoints.Each(func(_ string, e registered.AdminEndpoint) {
		a.Handle(e.Method, e.Path, func(ctx *fasthttp.RequestCtx) {
			e.Serve(ctx, g.Runtime().Config, g.cache, g.logger)
		})
	})
	g.registerCacheAdmin(a)
	g.registerReloadsAdmin(a)
	dashboard.Register(a)
	g.registerMetrics(a)
	a.Handle("GET", "/status", func(ctx *fasthttp.RequestCtx) {
		admin.WriteJSON(ctx, 200, g.Status())
	})
	a.Handle("POST", "/reload", func(ctx *fasthttp.RequestCtx) {
		res := g.Reload()
		status := 200
		if !res.OK {
			status = 422
		}
		admin.WriteJSON(ctx, status, res)
	})
	a.Handle("GET", "/upstreams", func(ctx *fasthttp.RequestCtx) {
		admin.WriteJSON(ctx, 200, g.Runtime().UpstreamStates())
	})
	a.Handle("GET", "/routes", func(ctx *fasthttp.RequestCtx) {
		rt := g.Runtime()
		type routeInfo struct {
			Name     string   `json:"name"`
			Hosts    []string `json:"hosts,omitempty"`
			Paths    []string `json:"paths"`
			Methods  []string `json:"methods,omitempty"`
			Upstream string   `json:"upstream,omitempty"`
			Chain    []string `json:"chain"`
		}
		out := []routeInfo{}
		for i, r := range rt.routes {
			rc := rt.Config.Routes[i]
			out = append(out, routeInfo{Name: r.Name, Hosts: rc.Hosts, Paths: rc.Paths, Methods: rc.Methods,
				Upstream: rc.Upstream, Chain: r.Chain.Labels()})
		}
		admin.WriteJSON(ctx, 200, out)
	})
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// loadCertificate reads [server.tls] cert and key; a file that cannot be
// read is named in the problem, at its key.
func loadCertificate(cfg *config.Config) (tls.Certificate, error) {
	t := cfg.Server.TLS
	certPEM, err := os.ReadFile(t.Cert)
	if err != nil {
		return tls.Certificate{}, cfg.Problem("server.tls.cert", config.CannotRead(t.Cert, err))
	}
	keyPEM, err := os.ReadFile(t.Key)
	if err != nil {
		return tls.Certificate{}, cfg.Problem("server.tls.key", config.CannotRead(t.Key, err))
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return cert, cfg.Problem("server.tls", "cannot load certificate and key: "+err.Error())
	}
	return cert, nil
}

// fasthttpLogger routes fasthttp's own messages to the process log, at
// debug level. Their arguments may quote the request (fasthttp's error
// for a malformed header holds its value: an API key, a cookie), so only
// the message's fixed text, numbers, addresses and the kind of an error
// are logged, never a string or an error's text.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	if !f.l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	safe := make([]any, len(args))
	for i, a := range args {
		safe[i] = safeArg(a)
	}
	f.l.Debug("fasthttp", "message", strings.TrimSpace(fmt.Sprintf(format, safe...)))
}

// safeArg returns what of a log argument may be logged.
func safeArg(a any) any {
	switch v := a.(type) {
	case int, int32, int64, uint, uint32, uint64, float32, float64, bool, time.Duration:
		return v
	case net.Addr:
		return v.String()
	case error:
		return errorKind(v)
	}
	return "<redacted>"
}

// errorKind names what went wrong reading a request, in words of the
// gateway's own: the text of fasthttp's errors may quote the request.
func errorKind(err error) string {
	var small *fasthttp.ErrSmallBuffer
	var broken fasthttp.ErrBrokenChunk
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		return "request headers too large"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return "request body too large"
	case errors.Is(err, errBareLF), errors.Is(err, errReadLimit):
		return err.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before the end of the request"
	case errors.As(err, &broken):
		return "malformed chunked body"
	case errors.Is(err, fasthttp.ErrDuplicateContentLength), errors.Is(err, fasthttp.ErrUnsupportedTransferEncoding):
		return "conflicting or unsupported body framing"
	case strings.HasPrefix(err.Error(), "error when reading request headers"):
		return "malformed request head"
	}
	return "malformed request"
}
