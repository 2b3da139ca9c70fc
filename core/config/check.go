package config

import (
	"net"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/admin"
)

// check finds the problems that decoding cannot see: references between
// sections, formats of addresses, paths and hosts, and impossible values.
func (c *Config) check(rep *reporter) {
	c.checkServer(rep)
	c.checkAdmin(rep)
	if c.Echo.Listen != "" {
		checkAddr(rep, "echo.listen", c.Echo.Listen)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		rep.add("log.level", `must be "debug", "info", "warn" or "error", got `+strconv.Quote(c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		rep.add("log.format", `must be "text" or "json", got `+strconv.Quote(c.Log.Format))
	}

	c.checkCache(rep)
	c.checkTracing(rep)
	c.checkRedis(rep)
	c.checkRateLimits(rep)

	upstreams := map[string]bool{}
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		p := indexPath("upstreams", i)
		switch {
		case u.Name == "":
			rep.add(childPath(p, "name"), "is required")
		case upstreams[u.Name]:
			rep.add(childPath(p, "name"), "duplicate upstream name "+strconv.Quote(u.Name))
		}
		upstreams[u.Name] = true
		if len(u.Targets) == 0 {
			rep.add(childPath(p, "targets"), "needs at least one target")
		}
		for j, t := range u.Targets {
			tp := indexPath(childPath(p, "targets"), j)
			if err := CheckTargetURL(t.URL); err != "" {
				rep.add(childPath(tp, "url"), err)
			}
			if t.Weight < 1 || t.Weight > 10000 {
				rep.add(childPath(tp, "weight"), "must be between 1 and 10000, got "+strconv.Itoa(t.Weight))
			}
		}
		if u.MaxConnections < 1 {
			rep.add(childPath(p, "max_connections"), "must be at least 1, got "+strconv.Itoa(u.MaxConnections))
		}
		if u.Timeout == 0 {
			rep.add(childPath(p, "timeout"), "must be more than 0s")
		}
		if u.ConnectTimeout == 0 {
			rep.add(childPath(p, "connect_timeout"), "must be more than 0s")
		}
		checkUpstream(rep, p, u)
	}

	c.checkLua(rep)
	checkSteps(rep, "plugins", c.Plugins)
	c.checkConsumers(rep)
	routes := map[string]bool{}
	for i := range c.Routes {
		r := &c.Routes[i]
		p := indexPath("routes", i)
		if r.Name == "" {
			r.Name = "route-" + strconv.Itoa(i+1)
		} else if routes[r.Name] {
			rep.add(childPath(p, "name"), "duplicate route name "+strconv.Quote(r.Name))
		}
		routes[r.Name] = true
		if r.Upstream != "" && !upstreams[r.Upstream] {
			rep.add(childPath(p, "upstream"), "unknown upstream "+strconv.Quote(r.Upstream))
		}
		for j, h := range r.Hosts {
			if reason := checkHost(h); reason != "" {
				rep.add(indexPath(childPath(p, "hosts"), j), reason)
			}
		}
		if len(r.Paths) == 0 {
			rep.add(childPath(p, "paths"), "needs at least one path")
		}
		for j, path := range r.Paths {
			if reason := CheckPathPattern(path); reason != "" {
				rep.add(indexPath(childPath(p, "paths"), j), reason)
			} else if reason := c.checkPathCase(path); reason != "" {
				rep.add(indexPath(childPath(p, "paths"), j), reason)
			}
		}
		for j, m := range r.Methods {
			if !IsToken(m) || strings.ToUpper(m) != m {
				rep.add(indexPath(childPath(p, "methods"), j), "must be an upper-case method name such as GET, got "+strconv.Quote(m))
			}
		}
		if r.Rewrite != "" {
			checkRewrite(rep, childPath(p, "rewrite"), r)
		}
		checkSteps(rep, childPath(p, "plugins"), r.Plugins)
		checkRouteUpstream(rep, p, r)
	}
	c.checkShadowedRoutes(rep)
}

func (c *Config) checkServer(rep *reporter) {
	s := &c.Server
	if len(s.Listen) == 0 {
		rep.add("server.listen", "needs at least one address")
	}
	for i, a := range s.Listen {
		checkAddr(rep, indexPath("server.listen", i), a)
	}
	if s.TLS != nil {
		for i, a := range s.TLS.Listen {
			checkAddr(rep, indexPath("server.tls.listen", i), a)
		}
		if s.TLS.Cert == "" {
			rep.add("server.tls.cert", "is required")
		}
		if s.TLS.Key == "" {
			rep.add("server.tls.key", "is required")
		}
	}
	if s.ReusePort && runtime.GOOS != "linux" {
		rep.add("server.reuse_port", "is supported on Linux only (SO_REUSEPORT spreads connections over the processes there)")
	}
	if s.MaxHeaderSize < 1024 {
		rep.add("server.max_header_size", "must be at least 1KB, got "+s.MaxHeaderSize.String())
	}
	if s.MaxHeaderCount < 1 {
		rep.add("server.max_header_count", "must be at least 1, got "+strconv.Itoa(s.MaxHeaderCount))
	}
	if s.MaxConnections < 1 {
		rep.add("server.max_connections", "must be at least 1, got "+strconv.Itoa(s.MaxConnections))
	}
	for i, p := range s.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			rep.add(indexPath("server.trusted_proxies", i), "is not an IP address or CIDR: "+strconv.Quote(p))
		}
	}
}

func (c *Config) checkAdmin(rep *reporter) {
	for i, h := range c.Admin.AllowedHosts {
		if admin.NormalizeHost(h) == "" {
			rep.add(indexPath("admin.allowed_hosts", i), `must be a host name or an IP address without a port, such as "gateway.internal", got `+strconv.Quote(h))
		}
	}
	if c.Admin.Listen == "" {
		return
	}
	if !checkAddr(rep, "admin.listen", c.Admin.Listen) {
		return
	}
	host, _, _ := net.SplitHostPort(c.Admin.Listen)
	if c.Admin.Token == "" && !isLoopback(host) {
		rep.add("admin.listen", strconv.Quote(c.Admin.Listen)+" is not a loopback address: set admin.token to expose the admin API")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAddr reports whether a listen address is host:port with a valid port.
func checkAddr(rep *reporter, path, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		rep.add(path, `must be "host:port" such as "0.0.0.0:8080", got `+strconv.Quote(addr))
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		rep.add(path, "invalid port in "+strconv.Quote(addr))
		return false
	}
	return true
}

// CheckTargetURL returns why u is not a valid upstream target URL, or "".
func CheckTargetURL(u string) string {
	x, err := url.Parse(u)
	if err != nil || x.Host == "" {
		return `must be a URL such as "http://10.0.0.5:8080", got ` + strconv.Quote(u)
	}
	if x.Scheme != "http" && x.Scheme != "https" {
		return `scheme must be "http" or "https", got ` + strconv.Quote(u)
	}
	if x.Path != "" && x.Path != "/" || x.RawQuery != "" || x.User != nil {
		return "must not have a path, query or credentials (use the route's rewrite for paths), got " + strconv.Quote(u)
	}
	return ""
}

func checkHost(h string) string {
	name := strings.TrimPrefix(h, "*.")
	if name == "" || strings.ContainsAny(name, "*/: ") || strings.ToLower(h) != h {
		return `must be a lower-case host name or "*.example.com", got ` + strconv.Quote(h)
	}
	return ""
}

// CheckPathPattern returns why p is not a valid route path, or "".
func CheckPathPattern(p string) string {
	if !strings.HasPrefix(p, "/") {
		return `must start with "/", got ` + strconv.Quote(p)
	}
	if strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/..") || strings.HasSuffix(p, "/.") {
		return "must be a normalized path (no empty, \".\" or \"..\" segments), got " + strconv.Quote(p)
	}
	if strings.ContainsAny(p, "?#% ") {
		return "must not contain '?', '#', '%' or spaces, got " + strconv.Quote(p)
	}
	seen := map[string]bool{}
	for _, seg := range strings.Split(p[1:], "/") {
		open, close := strings.Count(seg, "{"), strings.Count(seg, "}")
		if open == 0 && close == 0 {
			continue
		}
		if open != 1 || close != 1 || seg[0] != '{' || seg[len(seg)-1] != '}' {
			return "a parameter must be a whole segment such as /users/{id}, got " + strconv.Quote(p)
		}
		name := seg[1 : len(seg)-1]
		if !validEnvName(name) {
			return "invalid parameter name " + strconv.Quote(name) + " in " + strconv.Quote(p)
		}
		if seen[name] {
			return "parameter " + strconv.Quote(name) + " appears twice in " + strconv.Quote(p)
		}
		seen[name] = true
	}
	return ""
}

func checkRewrite(rep *reporter, path string, r *Route) {
	if !strings.HasPrefix(r.Rewrite, "/") {
		rep.add(path, `must start with "/", got `+strconv.Quote(r.Rewrite))
		return
	}
	rest := r.Rewrite
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			rep.add(path, "unclosed '{' in "+strconv.Quote(r.Rewrite))
			return
		}
		name := rest[i+1 : i+j]
		for _, p := range r.Paths {
			if name == "*" && !strings.HasSuffix(p, "/") {
				rep.add(path, `"{*}" needs prefix paths (ending in "/"), but `+strconv.Quote(p)+" is not one")
				return
			}
			if name != "*" && !strings.Contains(p, "{"+name+"}") {
				rep.add(path, "parameter "+strconv.Quote(name)+" is not in path "+strconv.Quote(p))
				return
			}
		}
		rest = rest[i+j+1:]
	}
}

func checkSteps(rep *reporter, path string, steps []Step) {
	for i := range steps {
		s := &steps[i]
		p := indexPath(path, i)
		if s.Name == "" && s.Script == "" {
			rep.add(p, `needs "name" (a plugin) or "script" (a script file)`)
		}
		switch s.OnError {
		case "fail", "continue":
		default:
			rep.add(childPath(p, "on_error"), `must be "fail" or "continue", got `+strconv.Quote(s.OnError))
		}
		if s.Timeout != 0 && s.Script == "" {
			rep.add(childPath(p, "timeout"), "only applies to script steps")
		} else if s.Timeout.Std() > maxLuaTimeout {
			rep.add(childPath(p, "timeout"), "must be at most 30s, got "+s.Timeout.String())
		}
		checkStepMetrics(rep, p, s)
		if s.MaxInstructions != 0 && s.Script == "" {
			rep.add(childPath(p, "max_instructions"), "only applies to script steps")
		} else if s.MaxInstructions != 0 && s.MaxInstructions < minMaxInstructions {
			rep.add(childPath(p, "max_instructions"), "must be at least 1000, got "+strconv.FormatInt(s.MaxInstructions, 10))
		}
	}
}

// MaxScriptMetricLabels bounds the labels of a counter a script declares.
const MaxScriptMetricLabels = 8

// checkStepMetrics checks the counters a script step declares (metrics):
// Prometheus names ending in _total, label names that are Prometheus
// label names and not "script" (the label every such counter has).
func checkStepMetrics(rep *reporter, p string, s *Step) {
	if len(s.Metrics) == 0 {
		return
	}
	mp := childPath(p, "metrics")
	if s.Script == "" {
		rep.add(mp, "only applies to script steps")
		return
	}
	names := make([]string, 0, len(s.Metrics))
	for n := range s.Metrics {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		np := childPath(mp, n)
		if !metricName(n, false) || !strings.HasSuffix(n, "_total") || n == "_total" {
			rep.add(np, "a counter's name is lower-case letters, digits and _, starting with a letter and ending in _total "+
				"(exposed as moongate_script_<name>), got "+strconv.Quote(n))
		}
		labels := s.Metrics[n]
		if len(labels) > MaxScriptMetricLabels {
			rep.add(np, "at most "+strconv.Itoa(MaxScriptMetricLabels)+" labels, got "+strconv.Itoa(len(labels)))
		}
		seen := map[string]bool{}
		for j, l := range labels {
			switch {
			case !metricName(l, true) || strings.HasPrefix(l, "__"):
				rep.add(indexPath(np, j), "a label name is letters, digits and _, not starting with a digit or __, got "+strconv.Quote(l))
			case l == "script" || l == "le" || l == "quantile":
				rep.add(indexPath(np, j), strconv.Quote(l)+" is reserved (every script counter has a script label)")
			case seen[l]:
				rep.add(indexPath(np, j), "label "+strconv.Quote(l)+" listed twice")
			}
			seen[l] = true
		}
	}
}

// metricName reports whether s is a Prometheus name: letters (lower
// case only unless upper), digits and _, not starting with a digit.
func metricName(s string, upper bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= 'A' && c <= 'Z' && upper:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// IsHeaderValue reports whether s may be sent as a header value as it is:
// no control characters but tab.
func IsHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// IsToken reports whether s is an HTTP token (RFC 9110 §5.6.2): what
// header names, cookie names and methods must be.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

// tokenChar tells the bytes allowed in a token: visible ASCII but the
// separators. (A table: scripts check header names on every request.)
var tokenChar = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune("()<>@,;:\\\"/[]?={}", c)
	}
	return t
}()
