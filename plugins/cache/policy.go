package cache

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/plugin"
)

// policy is what a cache step decided when it was built, from its
// Config: which requests it keys and how, which responses it stores and
// for how long, when it serves stale entries, and who may purge. It is
// read-only once built, and shared by every request of the step.
//
// Durations are int64 nanoseconds (the unit entries and the clock use);
// defaults are those of the TOML keys named, set in defaults().
type policy struct {
	// Methods (methods).

	getOK, headOK bool     // GET, HEAD are cached; default both
	otherMethods  []string // other methods cached (QUERY, SEARCH), keyed on their body too; default none

	// Keying: what a request's key is made of, besides the route, method
	// and path (see digest).

	keyHost     bool     // key_host: the origin the upstream is told about; default true
	ignoreQuery bool     // ignore_query: no query in the key; default false
	queryArgs   [][]byte // query_args: the allow-list of query arguments; default nil (every argument)
	keyHeaders  []string // key_headers: request headers whose values count; default none
	keyCookies  []string // key_cookies: request cookies whose values count; default none
	keyConsumer bool     // key_consumer: each consumer has its own entries; default false
	keyCtx      []string // key_ctx: per-request values that count; default none

	// What is stored.

	statuses     [600]bool // statuses: storable without explicit freshness; default 200, 203, 204, 300, 301, 302, 307, 308, 404, 405, 410, 414, 501
	contentTypes []string  // content_types: lower-case prefixes of storable Content-Types; default nil (any)
	maxSize      int       // max_object_size: the largest body stored, in bytes; default "1MB"

	// Freshness.

	ttl          int64 // ttl: freshness of responses that carry none (with force, of all), ns; default 0
	force        bool  // force: the upstream's caching headers are ignored; default false
	heuristic    bool  // heuristic: RFC 9111 §4.2.2 heuristic freshness; default true
	heuristicMax int64 // heuristic_max: its cap, ns; default 24h
	// targeted are the targeted cache-control fields obeyed, in order of
	// preference (targeted_cache_control; default CDN-Cache-Control), and
	// ownTargetedNames those of them meant for this cache alone, removed
	// from what is stored and sent (all but CDN-Cache-Control).
	targeted, ownTargetedNames []string
	requestDirectives          bool // request_directives: the client's Cache-Control and Pragma count; default true

	// Stale entries.

	swr       int64 // stale_while_revalidate: served stale while refreshed, unless the response says, ns; default 0
	sie       int64 // stale_if_error: served stale when the upstream fails, unless the response says, ns; default 0
	keepStale int64 // keep_stale: an expired entry with a validator is kept this long to be revalidated, ns; default 10m

	// Concurrent misses.

	collapse        bool  // collapse: one request upstream for concurrent misses of a key; default true
	collapseTimeout int64 // collapse_timeout: how long the others wait for it, ns; default 5s

	// Tags, purges and invalidation.

	tagHeader      string         // tag_header: the response header listing a response's tags; default Surrogate-Key, "" for none
	exposeTags     bool           // expose_tags: the tag header reaches clients; default false
	invalidate     bool           // invalidate: a successful unsafe request drops its URL's entries; default true
	purgeOn        bool           // purge: PURGE requests are accepted; default false
	purgeIPs       []netip.Prefix // purge.ips: who may send them, by client address; default none
	purgeConsumers []string       // purge.consumers: who may send them, by consumer; default none
}

// compile checks cfg and fills pol from it. Problems name their key.
func (pol *policy) compile(spec plugin.Spec, cfg *Config) error {
	t := spec.Config
	pol.ttl = int64(cfg.TTL)
	pol.force = cfg.Force
	if pol.force && pol.ttl == 0 {
		return t.Problem("ttl", `must be set with force = true (how long to keep responses), e.g. ttl = "60s"`)
	}
	if len(cfg.Methods) == 0 {
		return t.Problem("methods", "needs at least one method")
	}
	for i, m := range cfg.Methods {
		switch m {
		case "GET":
			pol.getOK = true
		case "HEAD":
			pol.headOK = true
		case "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PURGE":
			return t.Problem("methods["+strconv.Itoa(i)+"]", "method "+m+" cannot be cached (GET, HEAD, QUERY or SEARCH can; POST cannot be, as it would never invalidate)")
		default:
			if !config.IsToken(m) || strings.ToUpper(m) != m {
				return t.Problem("methods["+strconv.Itoa(i)+"]", "must be an upper-case method name such as GET, got "+strconv.Quote(m))
			}
			pol.otherMethods = append(pol.otherMethods, m)
		}
	}
	for i, s := range cfg.Statuses {
		if s < 100 || s > 599 {
			return t.Problem("statuses["+strconv.Itoa(i)+"]", "must be between 100 and 599, got "+strconv.Itoa(s))
		}
		pol.statuses[s] = true
	}
	for _, ct := range cfg.ContentTypes {
		pol.contentTypes = append(pol.contentTypes, strings.ToLower(strings.TrimSpace(ct)))
	}
	if cfg.MaxObjectSize < 1 {
		return t.Problem("max_object_size", "must be at least 1B, got "+cfg.MaxObjectSize.String())
	}
	if gc := spec.Settings(); gc != nil && cfg.MaxObjectSize > gc.Cache.Size/4 {
		return t.Problem("max_object_size", "must be at most a quarter of [cache] size ("+gc.Cache.Size.String()+"), got "+cfg.MaxObjectSize.String())
	}
	pol.maxSize = cfg.MaxObjectSize.Int()
	for _, a := range cfg.QueryArgs {
		pol.queryArgs = append(pol.queryArgs, []byte(a))
	}
	pol.ignoreQuery = cfg.IgnoreQuery
	for i, h := range cfg.KeyHeaders {
		if !config.IsToken(h) {
			return t.Problem("key_headers["+strconv.Itoa(i)+"]", "invalid header name "+strconv.Quote(h))
		}
		pol.keyHeaders = append(pol.keyHeaders, h)
	}
	for i, ck := range cfg.KeyCookies {
		if !config.IsToken(ck) {
			return t.Problem("key_cookies["+strconv.Itoa(i)+"]", "invalid cookie name "+strconv.Quote(ck))
		}
	}
	pol.keyCookies = cfg.KeyCookies
	pol.keyConsumer = cfg.KeyConsumer
	pol.keyHost = cfg.KeyHost
	pol.heuristic = cfg.Heuristic
	pol.heuristicMax = int64(cfg.HeuristicMax)
	pol.swr = int64(cfg.StaleWhileRevalidate)
	pol.sie = int64(cfg.StaleIfError)
	pol.keepStale = int64(cfg.KeepStale)
	pol.collapse = cfg.Collapse
	pol.collapseTimeout = int64(cfg.CollapseTimeout)
	if pol.collapse && pol.collapseTimeout <= 0 {
		return t.Problem("collapse_timeout", "must be more than 0s")
	}
	if cfg.TagHeader != "" && !config.IsToken(cfg.TagHeader) {
		return t.Problem("tag_header", "invalid header name "+strconv.Quote(cfg.TagHeader))
	}
	pol.tagHeader = cfg.TagHeader
	for i, name := range cfg.TargetedCacheControl {
		if !config.IsToken(name) {
			return t.Problem("targeted_cache_control["+strconv.Itoa(i)+"]", "invalid header name "+strconv.Quote(name))
		}
		pol.targeted = append(pol.targeted, name)
		if !strings.EqualFold(name, cdnCacheControl) {
			pol.ownTargetedNames = append(pol.ownTargetedNames, name)
		}
	}
	for i, name := range cfg.KeyCtx {
		if name == "" {
			return t.Problem("key_ctx["+strconv.Itoa(i)+"]", "must be the name of a per-request value, got \"\"")
		}
	}
	pol.keyCtx = cfg.KeyCtx
	pol.exposeTags = cfg.ExposeTags
	pol.invalidate = cfg.Invalidate
	pol.requestDirectives = cfg.RequestDirectives
	if cfg.Purge != nil {
		pol.purgeOn = true
		if len(cfg.Purge.IPs) == 0 && len(cfg.Purge.Consumers) == 0 {
			return t.Problem("purge", "needs ips or consumers: who may send PURGE")
		}
		for i, s := range cfg.Purge.IPs {
			pf, err := config.ParsePrefix(s)
			if err != nil {
				return t.Problem("purge.ips["+strconv.Itoa(i)+"]", "is not an IP address or CIDR: "+strconv.Quote(s))
			}
			pol.purgeIPs = append(pol.purgeIPs, pf)
		}
		pol.purgeConsumers = cfg.Purge.Consumers
	}
	return nil
}

// cacheableMethod reports whether responses to method m are cached.
func (pol *policy) cacheableMethod(m []byte) bool {
	switch string(m) {
	case "GET":
		return pol.getOK
	case "HEAD":
		return pol.headOK
	}
	for _, o := range pol.otherMethods {
		if string(m) == o {
			return true
		}
	}
	return false
}

// allowedArg reports whether a query argument ("name=value") is part of
// the key.
func (pol *policy) allowedArg(a []byte) bool {
	if len(pol.queryArgs) == 0 {
		return true
	}
	name := a
	if i := bytes.IndexByte(a, '='); i >= 0 {
		name = a[:i]
	}
	for _, q := range pol.queryArgs {
		if bytes.Equal(name, q) {
			return true
		}
	}
	return false
}

// allowedType reports whether a response of Content-Type ct may be
// stored (content_types).
func (pol *policy) allowedType(ct []byte) bool {
	for _, want := range pol.contentTypes {
		if httpbytes.HasPrefixFold(ct, want) {
			return true
		}
	}
	return false
}

// ownTargeted reports whether k is a targeted field meant for this cache
// alone: one configured that is not CDN-Cache-Control. Such fields are
// neither stored nor sent to clients.
func (pol *policy) ownTargeted(k []byte) bool {
	for _, name := range pol.ownTargetedNames {
		if httpbytes.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// purgeAllowed reports whether the client of c may send PURGE.
func (pol *policy) purgeAllowed(c *plugin.Context) bool {
	ip := c.ClientIP()
	for _, pf := range pol.purgeIPs {
		if ip.IsValid() && pf.Contains(ip) {
			return true
		}
	}
	if c.Consumer != nil {
		for _, n := range pol.purgeConsumers {
			if n == c.Consumer.Name {
				return true
			}
		}
	}
	return false
}
