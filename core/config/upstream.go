package config

import (
	"strconv"
	"strings"
	"time"
)

// Health configures an upstream's active health checks: the gateway asks
// every target for Path on its own schedule, off the request path.
// [upstreams.health]
type Health struct {
	// Path is the HTTP path asked with GET; "" turns active checks off.
	// Default "".
	Path string `toml:"path"`
	// Host is the Host header of the checks. Default: the target's host.
	Host string `toml:"host"`
	// Interval is the time between two checks of a target. Default "5s".
	Interval Duration `toml:"interval"`
	// Timeout bounds one check. Default "2s".
	Timeout Duration `toml:"timeout"`
	// Statuses are the statuses of a passing check. Default: any 2xx or 3xx.
	Statuses []int `toml:"statuses"`
	// HealthyThreshold is how many passing checks in a row bring an
	// unhealthy target back. Default 2.
	HealthyThreshold int `toml:"healthy_threshold"`
	// UnhealthyThreshold is how many failing checks in a row take a target
	// out. Default 3.
	UnhealthyThreshold int `toml:"unhealthy_threshold"`
}

// SetDefaults implements Defaulter.
func (h *Health) SetDefaults() {
	h.Interval = Duration(5 * time.Second)
	h.Timeout = Duration(2 * time.Second)
	h.HealthyThreshold = 2
	h.UnhealthyThreshold = 3
}

// Outlier configures passive health checks (outlier detection): a target
// that fails ConsecutiveFailures requests in a row is ejected for a
// cool-down that doubles on each repeated ejection. [upstreams.outlier]
type Outlier struct {
	// ConsecutiveFailures ejects a target after this many failures in a row
	// (connection errors, timeouts, Statuses); 0 turns passive checks off.
	// Default 5.
	ConsecutiveFailures int `toml:"consecutive_failures"`
	// Statuses are the upstream statuses counted as failures. Default
	// [502, 503, 504].
	Statuses []int `toml:"statuses"`
	// BaseEjection is the first cool-down. Default "10s".
	BaseEjection Duration `toml:"base_ejection"`
	// MaxEjection caps the growing cool-down; a target that stayed in for
	// MaxEjection starts again from BaseEjection. Default "5m".
	MaxEjection Duration `toml:"max_ejection"`
}

// SetDefaults implements Defaulter.
func (o *Outlier) SetDefaults() {
	o.ConsecutiveFailures = 5
	o.Statuses = []int{502, 503, 504}
	o.BaseEjection = Duration(10 * time.Second)
	o.MaxEjection = Duration(5 * time.Minute)
}

// Retries configures how failed tries are retried on another target.
// [upstreams.retries]
type Retries struct {
	// Attempts is the most retries after the first try, on timeouts,
	// resets and Statuses; 0 turns these retries off. Only idempotent
	// methods are retried unless the route sets retry_non_idempotent.
	// Default 0.
	Attempts int `toml:"attempts"`
	// ConnectAttempts is the most retries after the first try when the
	// failure was a connection that could not be made (refused, timed
	// out, TLS handshake failed, no free connection): nothing was sent,
	// so any method is retried, on another target. 0 turns them off.
	// Default 2.
	ConnectAttempts int `toml:"connect_attempts"`
	// Statuses are the upstream statuses retried under Attempts (besides
	// connection errors, timeouts and resets). Default [502, 503, 504].
	Statuses []int `toml:"statuses"`
	// Budget caps retries at this percentage of the requests of the last
	// ten seconds (plus MinPerSecond), so that retries cannot multiply the
	// load on a failing upstream. Default 20.
	Budget int `toml:"budget"`
	// MinPerSecond retries per second are always allowed, whatever the
	// budget says, so that a quiet upstream can still retry. Default 10.
	MinPerSecond int `toml:"min_per_second"`
}

// SetDefaults implements Defaulter.
func (r *Retries) SetDefaults() {
	r.ConnectAttempts = 2
	r.Statuses = []int{502, 503, 504}
	r.Budget = 20
	r.MinPerSecond = 10
}

// UpstreamTLS configures connections to https:// targets. Certificates
// are verified against the system roots and the target's host name (SNI)
// unless said otherwise. [upstreams.tls]
type UpstreamTLS struct {
	// CAFile is a PEM file of the certificate authorities to trust instead
	// of the system roots. Default "".
	CAFile string `toml:"ca_file,path"`
	// ServerName overrides the name sent as SNI and verified. Default: the
	// target's host name.
	ServerName string `toml:"server_name"`
	// InsecureSkipVerify turns certificate verification off. Default false.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
	// Cert and Key are a PEM client certificate and key for mutual TLS.
	// Default "" (none).
	Cert string `toml:"cert,path"`
	Key  string `toml:"key,path"`
}

// Sticky configures sticky sessions (balancer = "sticky"): a signed cookie
// names the target that served the client first. [upstreams.sticky]
type Sticky struct {
	// Cookie is the cookie's name. Default "moongate_sticky".
	Cookie string `toml:"cookie"`
	// Secret signs the cookie. Set it when several gateways serve the same
	// clients. Default "": a random secret per process.
	Secret string `toml:"secret,secret"`
	// TTL is how long a cookie stays valid; "0s" makes a session cookie
	// valid until the browser drops it. Default "0s".
	TTL Duration `toml:"ttl"`
	// Path is the cookie's path. Default "/".
	Path string `toml:"path"`
	// Fallback is the balancer for clients without a valid cookie.
	// Default "round-robin".
	Fallback string `toml:"fallback"`
}

// SetDefaults implements Defaulter.
func (s *Sticky) SetDefaults() {
	s.Cookie = "moongate_sticky"
	s.Path = "/"
	s.Fallback = "round-robin"
}

// setUpstreamDefaults fills the defaults of the upstream's tables.
func (u *Upstream) setUpstreamDefaults() {
	u.StreamThreshold = 1 << 20
	u.StreamIdleTimeout = Duration(60 * time.Second)
	u.HashOn = "ip"
	u.WhenAllDown = "panic"
	u.ResolveInterval = Duration(30 * time.Second)
	u.Health.SetDefaults()
	u.Outlier.SetDefaults()
	u.Retries.SetDefaults()
	u.Sticky.SetDefaults()
}

// HashOnValues are the values of hash_on.
var HashOnValues = []string{"ip", "header", "cookie", "path", "consumer"}

// checkUpstream checks the keys of issue "upstreams" (balancing, health,
// retries, streaming, TLS).
func checkUpstream(rep *reporter, p string, u *Upstream) {
	switch u.HashOn {
	case "ip", "path", "consumer":
	case "header", "cookie":
		if u.HashKey == "" {
			rep.add(childPath(p, "hash_on"), `"`+u.HashOn+`" needs hash_key, the `+u.HashOn+`'s name`)
		}
	default:
		rep.add(childPath(p, "hash_on"), "must be one of "+quoteList(HashOnValues)+", got "+strconv.Quote(u.HashOn))
	}
	switch u.WhenAllDown {
	case "panic", "fail":
	default:
		rep.add(childPath(p, "when_all_down"), `must be "panic" or "fail", got `+strconv.Quote(u.WhenAllDown))
	}
	if u.StreamIdleTimeout == 0 {
		rep.add(childPath(p, "stream_idle_timeout"), "must be more than 0s")
	}
	if u.ResolveInterval != 0 && u.ResolveInterval < Duration(time.Second) {
		rep.add(childPath(p, "resolve_interval"), "must be at least 1s (or 0s to resolve once), got "+u.ResolveInterval.String())
	}

	h := &u.Health
	hp := childPath(p, "health")
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		rep.add(childPath(hp, "path"), `must start with "/", got `+strconv.Quote(h.Path))
	}
	if h.Interval < Duration(100*time.Millisecond) {
		rep.add(childPath(hp, "interval"), "must be at least 100ms, got "+h.Interval.String())
	}
	if h.Timeout == 0 {
		rep.add(childPath(hp, "timeout"), "must be more than 0s")
	}
	if h.HealthyThreshold < 1 {
		rep.add(childPath(hp, "healthy_threshold"), "must be at least 1, got "+strconv.Itoa(h.HealthyThreshold))
	}
	if h.UnhealthyThreshold < 1 {
		rep.add(childPath(hp, "unhealthy_threshold"), "must be at least 1, got "+strconv.Itoa(h.UnhealthyThreshold))
	}
	checkStatuses(rep, childPath(hp, "statuses"), h.Statuses)

	o := &u.Outlier
	op := childPath(p, "outlier")
	if o.ConsecutiveFailures < 0 {
		rep.add(childPath(op, "consecutive_failures"), "must be 0 (off) or more, got "+strconv.Itoa(o.ConsecutiveFailures))
	}
	if o.BaseEjection == 0 {
		rep.add(childPath(op, "base_ejection"), "must be more than 0s")
	}
	if o.MaxEjection < o.BaseEjection {
		rep.add(childPath(op, "max_ejection"), "must not be less than base_ejection ("+o.BaseEjection.String()+"), got "+o.MaxEjection.String())
	}
	checkStatuses(rep, childPath(op, "statuses"), o.Statuses)

	r := &u.Retries
	rp := childPath(p, "retries")
	if r.Attempts < 0 || r.Attempts > 10 {
		rep.add(childPath(rp, "attempts"), "must be between 0 and 10, got "+strconv.Itoa(r.Attempts))
	}
	if r.ConnectAttempts < 0 || r.ConnectAttempts > 10 {
		rep.add(childPath(rp, "connect_attempts"), "must be between 0 and 10, got "+strconv.Itoa(r.ConnectAttempts))
	}
	if r.Budget < 0 || r.Budget > 100 {
		rep.add(childPath(rp, "budget"), "must be a percentage between 0 and 100, got "+strconv.Itoa(r.Budget))
	}
	if r.MinPerSecond < 0 {
		rep.add(childPath(rp, "min_per_second"), "must be 0 or more, got "+strconv.Itoa(r.MinPerSecond))
	}
	checkStatuses(rep, childPath(rp, "statuses"), r.Statuses)

	if (u.TLS.Cert == "") != (u.TLS.Key == "") {
		rep.add(childPath(p, "tls"), "cert and key must be given together")
	}
	if u.Balancer == "sticky" {
		s := &u.Sticky
		sp := childPath(p, "sticky")
		if !IsToken(s.Cookie) {
			rep.add(childPath(sp, "cookie"), "must be a cookie name, got "+strconv.Quote(s.Cookie))
		}
		if !strings.HasPrefix(s.Path, "/") || strings.ContainsAny(s.Path, "; \t") {
			rep.add(childPath(sp, "path"), `must be a path such as "/", got `+strconv.Quote(s.Path))
		}
		if s.Fallback == "sticky" {
			rep.add(childPath(sp, "fallback"), `must be another balancer than "sticky"`)
		}
	}
}

// checkRouteUpstream checks a route's overrides of its upstream call.
func checkRouteUpstream(rep *reporter, p string, r *Route) {
	if r.Retries != nil && (*r.Retries < 0 || *r.Retries > 10) {
		rep.add(childPath(p, "retries"), "must be between 0 and 10, got "+strconv.Itoa(*r.Retries))
	}
	if (r.WebSocket || r.Timeout != 0 || r.Deadline != 0 || r.ConnectTimeout != 0 || r.Retries != nil || r.RetryNonIdempotent) && r.Upstream == "" {
		rep.add(childPath(p, "upstream"), "is required by the route's upstream settings (websocket, timeout, deadline, connect_timeout, retries, retry_non_idempotent)")
	}
}

func checkStatuses(rep *reporter, p string, list []int) {
	for i, s := range list {
		if s < 100 || s > 599 {
			rep.add(indexPath(p, i), "must be an HTTP status between 100 and 599, got "+strconv.Itoa(s))
		}
	}
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
