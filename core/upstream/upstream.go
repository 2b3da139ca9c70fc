package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/moongate/moongate/core/config"
)

// Upstream is a named group of targets; it implements reqctx.Upstream.
// Its configuration is fixed once built; its targets' state (health,
// in-flight requests, latency) changes as requests and checks go. It is
// safe for concurrent use. Close stops its background work.
type Upstream struct {
	name      string
	cfg       config.Upstream
	targets   []*Target
	balancer  Balancer
	responder Responder // the balancer, when it acts on responses
	tlsConfig *tls.Config

	timeout        time.Duration
	connectTimeout time.Duration
	deadline       time.Duration
	streamAt       int
	streamIdle     time.Duration
	writeTimeout   time.Duration // the server's, refreshed while streaming
	failFast       bool
	retryStatus    statusSet
	outlierStatus  statusSet
	budget         budget

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	adhocMu sync.Mutex
	adhoc   map[string]*Target // targets set per request (Context.SetTarget)

	retries *vm.Counter // tries after the first; nil without metrics
}

// Metrics are the counters of an upstream's activity, made by the
// gateway's metrics when the upstream is built (see SetMetrics).
type Metrics struct {
	// Retries counts the tries after the first.
	Retries *vm.Counter
	// Targets are the counters of each target, in configuration order.
	Targets []TargetMetrics
}

// TargetMetrics are the counters of one target.
type TargetMetrics struct {
	Requests, Failures, Ejections *vm.Counter
}

// SetMetrics makes the upstream count into m; called once, before it
// serves. Targets set per request (Context.SetTarget) are not counted.
func (u *Upstream) SetMetrics(m *Metrics) {
	u.retries = m.Retries
	for i, t := range u.targets {
		if i < len(m.Targets) {
			t.m = &m.Targets[i]
		}
	}
}

// maxAdhocTargets bounds the connection pools kept for targets chosen per
// request, so that a script cannot grow them without limit.
const maxAdhocTargets = 256

// statusSet is a set of HTTP statuses (100-599) as a bitmap.
type statusSet [10]uint64

func newStatusSet(list []int) statusSet {
	var s statusSet
	for _, v := range list {
		if v >= 0 && v < 640 {
			s[v/64] |= 1 << (v % 64)
		}
	}
	return s
}

func (s *statusSet) has(v int) bool {
	return v >= 0 && v < 640 && s[v/64]&(1<<(v%64)) != 0
}

// New builds an upstream from its configuration; path is its key path
// (upstreams[0]) for error messages. Its health checks and name
// resolution start at once; Close stops them.
func New(cfg *config.Upstream, path string, file *config.Config) (*Upstream, error) {
	u := &Upstream{
		name:           cfg.Name,
		cfg:            *cfg,
		timeout:        cfg.Timeout.Std(),
		connectTimeout: cfg.ConnectTimeout.Std(),
		deadline:       cfg.Deadline.Std(),
		streamAt:       cfg.StreamThreshold.Int(),
		streamIdle:     cfg.StreamIdleTimeout.Std(),
		failFast:       cfg.WhenAllDown == "fail",
		retryStatus:    newStatusSet(cfg.Retries.Statuses),
		outlierStatus:  newStatusSet(cfg.Outlier.Statuses),
	}
	u.budget.pct, u.budget.minPerSec = int64(cfg.Retries.Budget), int64(cfg.Retries.MinPerSecond)
	if file != nil {
		u.writeTimeout = file.Server.WriteTimeout.Std()
	}
	problem := func(key, reason string) error {
		if file == nil {
			return errors.New(path + "." + key + ": " + reason)
		}
		return file.Problem(path+"."+key, reason)
	}
	tc, err := buildTLS(&cfg.TLS)
	if err != nil {
		return nil, problem("tls", err.Error())
	}
	u.tlsConfig = tc
	for i, tcfg := range cfg.Targets {
		t, err := newTarget(tcfg, targetOptions{cfg: cfg, tlsConfig: tc})
		if err != nil {
			return nil, problem("targets["+strconv.Itoa(i)+"].url", err.Error())
		}
		t.index, t.bit = i, 1<<(i%64)
		u.targets = append(u.targets, t)
	}
	f, ok := lookupBalancer(cfg.Balancer)
	if !ok {
		return nil, problem("balancer", "unknown balancer "+strconv.Quote(cfg.Balancer)+" (known: "+strings.Join(balancerNames(), ", ")+")")
	}
	b, err := f(u.targets, cfg)
	if err != nil {
		return nil, problem("balancer", err.Error())
	}
	u.balancer = b
	u.responder, _ = b.(Responder)
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.startResolver()
	u.startHealthChecks()
	return u, nil
}

// buildTLS makes the TLS settings of an upstream's https targets:
// verification on, against ca_file when given.
func buildTLS(c *config.UpstreamTLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // only when configured explicitly
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, errors.New("cannot read ca_file: " + err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("ca_file " + strconv.Quote(c.CAFile) + " holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, errors.New("cannot load cert and key: " + err.Error())
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Name returns the upstream's name.
func (u *Upstream) Name() string { return u.name }

// Targets returns the upstream's targets; callers must not modify them.
func (u *Upstream) Targets() []*Target { return u.targets }

// adhocTarget returns the pooled target for a URL set per request.
func (u *Upstream) adhocTarget(url string) (*Target, error) {
	u.adhocMu.Lock()
	defer u.adhocMu.Unlock()
	if t, ok := u.adhoc[url]; ok {
		return t, nil
	}
	t, err := newTarget(config.Target{URL: url, Weight: 1}, targetOptions{cfg: &u.cfg, tlsConfig: u.tlsConfig})
	if err != nil {
		return nil, err
	}
	if u.adhoc == nil || len(u.adhoc) >= maxAdhocTargets {
		for _, old := range u.adhoc {
			old.Client.CloseIdleConnections()
		}
		u.adhoc = map[string]*Target{}
	}
	u.adhoc[url] = t
	return t, nil
}

// Close stops the health checks and name resolution and closes the idle
// connections of every target; in-flight requests finish on theirs.
// It is called when a reload replaced the runtime, once its requests are
// done, and at shutdown.
func (u *Upstream) Close() {
	if u.cancel != nil {
		u.cancel()
	}
	u.wg.Wait()
	for _, t := range u.targets {
		t.Client.CloseIdleConnections()
	}
	u.adhocMu.Lock()
	for _, t := range u.adhoc {
		t.Client.CloseIdleConnections()
	}
	u.adhocMu.Unlock()
}
