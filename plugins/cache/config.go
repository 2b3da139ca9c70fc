package cache

import (
	"time"

	"github.com/moongate/moongate/core/config"
)

// Config is the step's TOML table. Every field's comment gives its key
// and default.
type Config struct {
	// TTL is the freshness given to responses that carry none of their own
	// (no max-age, s-maxage or Expires); with force, to every response.
	// Default "0s": such responses are only reused as RFC 9111 heuristic
	// freshness allows (see Heuristic).
	TTL config.Duration `toml:"ttl"`
	// Force ignores the upstream's caching headers (Cache-Control,
	// Expires, Pragma, Vary is still honoured): every response with a
	// cacheable status is stored for TTL. For upstreams that send no
	// caching headers at all. Responses with Set-Cookie, and responses to
	// requests with Authorization (unless key_consumer), are still never
	// stored. Default false.
	Force bool `toml:"force"`
	// Methods are the methods whose responses are cached. GET and HEAD
	// share entries (HEAD is served from a cached GET); other methods
	// (POST for a search or GraphQL API) are keyed on their body too.
	// Default ["GET", "HEAD"].
	Methods []string `toml:"methods"`
	// Statuses are the response statuses that may be stored without
	// explicit freshness: for ttl, force and heuristic freshness. A
	// response with max-age, s-maxage or Expires is stored whatever its
	// final status (but 206). Default
	// [200, 203, 204, 300, 301, 302, 307, 308, 404, 405, 410, 414, 501].
	Statuses []int `toml:"statuses"`
	// ContentTypes, when set, limits storing to responses whose
	// Content-Type starts with one of these ("application/json",
	// "image/"). Default: any.
	ContentTypes []string `toml:"content_types"`
	// MaxObjectSize is the largest body stored. Default "1MB".
	MaxObjectSize config.Size `toml:"max_object_size"`
	// QueryArgs, when set, is the allow-list of query arguments that are
	// part of the key (others are ignored: "?utm_source=x" hits the same
	// entry). Default: every argument, in sorted order.
	QueryArgs []string `toml:"query_args"`
	// IgnoreQuery leaves the query string out of the key entirely.
	// Default false.
	IgnoreQuery bool `toml:"ignore_query"`
	// KeyHeaders are request headers whose values are part of the key.
	// Default none.
	KeyHeaders []string `toml:"key_headers"`
	// KeyCookies are request cookies whose values are part of the key.
	// Default none.
	KeyCookies []string `toml:"key_cookies"`
	// KeyConsumer puts the authenticated consumer in the key: each
	// consumer has its own entries, and responses to its requests (with
	// Authorization, or authenticated by an auth step) may then be
	// stored. Requests with credentials never share entries with requests
	// without, whatever this says. Default false.
	KeyConsumer bool `toml:"key_consumer"`
	// KeyHost puts the origin the upstream is told about in the key: the
	// scheme and the request's Host (lower case, default port removed),
	// which go upstream as X-Forwarded-Proto and X-Forwarded-Host (and as
	// Host with preserve_host), and a trusted proxy's X-Forwarded-Proto
	// and X-Forwarded-Host. false shares entries between hosts: only for
	// an upstream that ignores all of them, or one client's Host decides
	// what every other host is served. Default true.
	KeyHost bool `toml:"key_host"`
	// Heuristic allows RFC 9111 §4.2.2 heuristic freshness: a response
	// with Last-Modified but no explicit freshness, of a heuristically
	// cacheable status, is fresh for 10% of its age at the time it was
	// received, at most HeuristicMax. Default true.
	Heuristic bool `toml:"heuristic"`
	// HeuristicMax caps heuristic freshness. Default "24h".
	HeuristicMax config.Duration `toml:"heuristic_max"`
	// StaleWhileRevalidate serves a stale entry this long after it expired
	// while one background request refreshes it, for responses that do not
	// say (stale-while-revalidate=N in the response wins). Default "0s".
	StaleWhileRevalidate config.Duration `toml:"stale_while_revalidate"`
	// StaleIfError serves a stale entry this long after it expired when
	// the upstream fails (500, 502, 503, 504, unreachable, timeout), for
	// responses that do not say (stale-if-error=N wins). Default "0s".
	StaleIfError config.Duration `toml:"stale_if_error"`
	// KeepStale is how long an expired entry with a validator (ETag,
	// Last-Modified) is kept to be revalidated with a conditional request.
	// Default "10m".
	KeepStale config.Duration `toml:"keep_stale"`
	// Collapse sends one request upstream for concurrent misses of the
	// same key; the others wait for its response. Default true.
	Collapse bool `toml:"collapse"`
	// CollapseTimeout bounds that wait; past it, a waiting request goes
	// upstream itself. Default "5s".
	CollapseTimeout config.Duration `toml:"collapse_timeout"`
	// TagHeader is the response header listing the tags of a response
	// (space or comma separated), for purges by tag. Default
	// "Surrogate-Key"; "" turns tags off.
	TagHeader string `toml:"tag_header"`
	// ExposeTags keeps the tag header on responses to clients. Default
	// false: it is removed.
	ExposeTags bool `toml:"expose_tags"`
	// Invalidate makes unsafe requests (POST, PUT, PATCH, DELETE, ...)
	// that succeed drop the cached responses of their URL and of the
	// Location and Content-Location they return (RFC 9111 §4.4). Default true.
	Invalidate bool `toml:"invalidate"`
	// RequestDirectives honours the client's Cache-Control (no-store,
	// no-cache, max-age, min-fresh, max-stale, only-if-cached) and Pragma:
	// no-cache. Default true; false ignores them, as many proxy caches do.
	RequestDirectives bool `toml:"request_directives"`
	// TargetedCacheControl are the targeted cache-control fields (RFC
	// 9213) this cache obeys, in order of preference: the first one a
	// response carries with a valid value decides for this cache, and
	// Cache-Control and Expires are then ignored. CDN-Cache-Control is
	// passed on to clients (CDNs in front read it too); other names are
	// meant for this cache alone and are removed. Default
	// ["CDN-Cache-Control"]; [] turns targeted fields off.
	TargetedCacheControl []string `toml:"targeted_cache_control"`
	// KeyCtx names per-request values (gw.ctx, set by steps before the
	// cache step) whose values are part of the key, so that requests a
	// script treats differently do not share responses. Default none.
	KeyCtx []string `toml:"key_ctx"`
	// Purge, when set, accepts the PURGE method on the route's URLs from
	// the listed client addresses or consumers (the route's methods must
	// allow PURGE). Default: off.
	Purge *PurgeConfig `toml:"purge"`
}

// PurgeConfig says who may send PURGE requests.
type PurgeConfig struct {
	// IPs are client addresses or CIDRs allowed to purge.
	IPs []string `toml:"ips"`
	// Consumers are consumer names allowed to purge (an auth step must
	// run before the cache step).
	Consumers []string `toml:"consumers"`
}

func defaults() Config {
	return Config{
		Methods:              []string{"GET", "HEAD"},
		Statuses:             []int{200, 203, 204, 300, 301, 302, 307, 308, 404, 405, 410, 414, 501},
		MaxObjectSize:        1 << 20,
		Heuristic:            true,
		HeuristicMax:         config.Duration(24 * time.Hour),
		KeepStale:            config.Duration(10 * time.Minute),
		Collapse:             true,
		CollapseTimeout:      config.Duration(5 * time.Second),
		TagHeader:            "Surrogate-Key",
		Invalidate:           true,
		RequestDirectives:    true,
		KeyHost:              true,
		TargetedCacheControl: []string{cdnCacheControl},
	}
}
