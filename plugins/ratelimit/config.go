package ratelimit

import (
	"strconv"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/limitkey"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
)

// Config is the rate-limit step's [config] table: who is counted and
// what requests get (Key, MissingKey, Headers, Message), and how they are
// counted (Counting, the keys a named limit of [[rate_limits]] has too).
// Every field's comment gives its key, unit and default; defaults are set
// in defaults.
type Config struct {
	Counting
	// Key says who is counted: "consumer", "ip", "route", "header:NAME",
	// "param:NAME", "query:NAME", "ctx:NAME", or a list of them combined.
	// Default "consumer".
	Key config.StringList `toml:"key"`
	// MissingKey is what happens to a request the key has no value for
	// (no consumer, no such header): "anonymous" counts all of them under
	// one shared key (the missing parts), "pass" lets them through
	// uncounted. Default "anonymous".
	MissingKey string `toml:"missing_key"`
	// Headers chooses the rate-limit header fields written on every
	// response: "draft" (RateLimit-Policy and RateLimit, IETF
	// draft-ietf-httpapi-ratelimit-headers, every window), "legacy"
	// (RateLimit-Limit, -Remaining, -Reset of the window closest to
	// refusing) or "none". Retry-After is always sent with 429. Default
	// "draft".
	Headers string `toml:"headers"`
	// Message is the error text of the 429 answer. Default "rate limit
	// exceeded".
	Message string `toml:"message"`
}

// Counting is how requests are counted: the keys of a rate-limit step
// that an entry of [[rate_limits]] has too.
type Counting struct {
	// Limits are the windows, all of which must pass:
	// [{ requests = 100, per = "1m" }, { requests = 10, per = "1s" }].
	// Required.
	Limits []Window `toml:"limits"`
	// Policy is where the counters live: "local" (this node; exact, no
	// network) or "redis" (shared by every node using the same Redis;
	// needs [redis]). Default "local".
	Policy string `toml:"policy"`
	// Algorithm is "sliding-window" or "gcra" (a token bucket with
	// burst). Default "sliding-window".
	Algorithm string `toml:"algorithm"`
	// Burst is the GCRA bucket size of every window without its own
	// burst: how many requests may pass at once after a quiet period.
	// Default 0: each window's requests.
	Burst int64 `toml:"burst"`
	// SubWindows is the number of buckets a sliding window is counted in
	// (more: closer to requests per "per" for clients that hammer the
	// limit, more memory). Default 20, at most 100.
	SubWindows int `toml:"sub_windows"`
	// MaxKeys and MaxMemory bound the local table of keys (policy
	// "local", and the fallback of policy "redis"). A key leaves it only
	// once its counts are over; when full, new keys share one
	// conservative limit until room appears. Default 100000 and "32MB".
	MaxKeys   int         `toml:"max_keys"`
	MaxMemory config.Size `toml:"max_memory"`

	// OnRedisError is what a request gets when Redis fails or is slower
	// than redis_timeout (policy "redis"): "local" decides on this node
	// with every limit divided by nodes, "allow" lets it through
	// uncounted, "deny" answers 429. Each is logged and counted. Default
	// "local".
	OnRedisError string `toml:"on_redis_error"`
	// Nodes is the number of gateway nodes sharing the limit, by which
	// on_redis_error = "local" divides it. Default 1.
	Nodes int `toml:"nodes"`
	// RedisTimeout bounds one decision on Redis, connection included.
	// Default "50ms".
	RedisTimeout config.Duration `toml:"redis_timeout"`
	// RedisRetryInterval is how long after a failure requests are decided
	// by on_redis_error without asking Redis; then one request tries it
	// again. Default "1s".
	RedisRetryInterval config.Duration `toml:"redis_retry_interval"`
	// RedisPrefix starts the step's Redis keys. Steps (on any node) with
	// the same prefix and the same limits share their counters. Default
	// "moongate:rl:<route>:" for a route's step, "moongate:rl:*:" for a
	// global step, "moongate:rl-named:<name>:" for an entry of
	// [[rate_limits]].
	RedisPrefix string `toml:"redis_prefix"`
}

// Window is one entry of limits.
type Window struct {
	// Requests allowed per Per. Required, at least 1.
	Requests int64 `toml:"requests"`
	// Per is the window's length, at least "1ms". Required.
	Per config.Duration `toml:"per"`
	// Burst is the GCRA bucket size of this window. Default: the step's
	// burst, or requests.
	Burst int64 `toml:"burst"`
	// Name is the policy name in the RateLimit header fields. Default:
	// derived from per ("60s").
	Name string `toml:"name"`
}

func defaults() Config {
	return Config{
		Counting:   countingDefaults(),
		Key:        config.StringList{"consumer"},
		MissingKey: "anonymous",
		Headers:    "draft",
		Message:    "rate limit exceeded",
	}
}

func countingDefaults() Counting {
	return Counting{
		Policy:       "local",
		Algorithm:    "sliding-window",
		MaxKeys:      100000,
		MaxMemory:    32 << 20,
		OnRedisError: "local",
		Nodes:        1,
	}
}

// settings are the checked configuration, compiled.
type settings struct {
	limit   ratelimit.Limit
	key     *limitkey.Key
	pass    bool // missing_key = "pass"
	redis   bool // policy = "redis"
	headers headerMode
	local   ratelimit.LocalOptions
	ropts   ratelimit.RedisOptions
	message string
}

type headerMode uint8

const (
	headersDraft headerMode = iota
	headersLegacy
	headersNone
)

// compile checks a step's cfg and reports every problem at once, each at
// its key.
func compile(spec plugin.Spec, cfg *Config) (*settings, error) {
	t := spec.Config
	var ps config.Problems
	bad := func(key, reason string) {
		ps = append(ps, config.AsProblems(t.Problem(key, reason))...)
	}
	s := &settings{message: cfg.Message}
	prefix := "moongate:rl:*:"
	if spec.Route != "" {
		prefix = "moongate:rl:" + spec.Route + ":"
	}
	compileCounting(spec, &cfg.Counting, prefix, s, bad)
	var err error
	if s.key, err = limitkey.Parse(cfg.Key); err != nil {
		bad("key", err.Error())
	}
	switch cfg.MissingKey {
	case "anonymous":
	case "pass":
		s.pass = true
	default:
		bad("missing_key", `must be "anonymous" or "pass", got `+strconv.Quote(cfg.MissingKey))
	}
	switch cfg.Headers {
	case "draft":
		s.headers = headersDraft
	case "legacy":
		s.headers = headersLegacy
	case "none":
		s.headers = headersNone
	default:
		bad("headers", `must be "draft", "legacy" or "none", got `+strconv.Quote(cfg.Headers))
	}
	if cfg.Message == "" || !config.IsHeaderValue(cfg.Message) {
		bad("message", "must be a non-empty line of text")
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return s, nil
}

// compileNamed checks an entry of [[rate_limits]].
func compileNamed(spec plugin.Spec, cfg *Counting) (*settings, error) {
	var ps config.Problems
	bad := func(key, reason string) {
		ps = append(ps, config.AsProblems(spec.Config.Problem(key, reason))...)
	}
	s := &settings{}
	compileCounting(spec, cfg, "moongate:rl-named:"+spec.Name+":", s, bad)
	if len(ps) > 0 {
		return nil, ps
	}
	return s, nil
}

// compileCounting checks how requests are counted into s, reporting
// problems with bad. defaultPrefix is redis_prefix's default.
func compileCounting(spec plugin.Spec, cfg *Counting, defaultPrefix string, s *settings, report func(key, reason string)) {
	problems := 0
	bad := func(key, reason string) {
		problems++
		report(key, reason)
	}
	alg, err := ratelimit.ParseAlgorithm(cfg.Algorithm)
	if err != nil {
		bad("algorithm", `must be "sliding-window" or "gcra", got `+strconv.Quote(cfg.Algorithm))
	}
	s.limit.Algorithm, s.limit.SubWindows = alg, cfg.SubWindows
	if len(cfg.Limits) == 0 {
		bad("limits", `needs at least one window, such as [{ requests = 100, per = "1m" }]`)
	}
	if len(cfg.Limits) > ratelimit.MaxWindows {
		bad("limits", "at most "+strconv.Itoa(ratelimit.MaxWindows)+" windows, got "+strconv.Itoa(len(cfg.Limits)))
	}
	if cfg.Burst < 0 {
		bad("burst", "must not be negative, got "+strconv.FormatInt(cfg.Burst, 10))
	}
	if cfg.Burst != 0 && alg != ratelimit.GCRA {
		bad("burst", `applies to algorithm = "gcra" only`)
	}
	for i, w := range cfg.Limits {
		p := "limits[" + strconv.Itoa(i) + "]"
		if w.Requests < 1 || w.Requests > ratelimit.MaxRequests {
			bad(p+".requests", "must be between 1 and "+strconv.FormatInt(ratelimit.MaxRequests, 10)+", got "+strconv.FormatInt(w.Requests, 10))
		}
		if w.Per.Std() < time.Millisecond {
			bad(p+".per", `must be at least "1ms", got "`+w.Per.String()+`"`)
		}
		if w.Burst < 0 || w.Burst > ratelimit.MaxRequests {
			bad(p+".burst", "must be between 0 and "+strconv.FormatInt(ratelimit.MaxRequests, 10)+", got "+strconv.FormatInt(w.Burst, 10))
		}
		if w.Burst != 0 && alg != ratelimit.GCRA {
			bad(p+".burst", `applies to algorithm = "gcra" only`)
		}
		if w.Name != "" && !config.IsToken(w.Name) {
			bad(p+".name", "must be a token (letters, digits, -._~...), got "+strconv.Quote(w.Name))
		}
		burst := w.Burst
		if burst == 0 {
			burst = cfg.Burst
		}
		s.limit.Windows = append(s.limit.Windows, ratelimit.Window{Requests: w.Requests, Per: w.Per.Std(), Burst: burst, Name: w.Name})
	}
	if cfg.SubWindows < 0 || cfg.SubWindows > ratelimit.MaxSubWindows {
		bad("sub_windows", "must be between 1 and "+strconv.Itoa(ratelimit.MaxSubWindows)+", got "+strconv.Itoa(cfg.SubWindows))
	} else if cfg.SubWindows != 0 && alg != ratelimit.SlidingWindow {
		bad("sub_windows", `applies to algorithm = "sliding-window" only`)
	}
	if problems == 0 {
		// The library's own checks (a rate too fine for GCRA, ...).
		if err := s.limit.Validate(); err != nil {
			bad("limits", err.Error())
		}
	}

	if cfg.MaxKeys < 1 {
		bad("max_keys", "must be at least 1, got "+strconv.Itoa(cfg.MaxKeys))
	}
	if cfg.MaxMemory < 1<<20 {
		bad("max_memory", `must be at least "1MB", got `+cfg.MaxMemory.String())
	}
	s.local = ratelimit.LocalOptions{MaxKeys: cfg.MaxKeys, MaxBytes: int64(cfg.MaxMemory)}

	switch cfg.Policy {
	case "local":
		for _, k := range []struct {
			key string
			set bool
		}{{"on_redis_error", cfg.OnRedisError != "local"}, {"nodes", cfg.Nodes != 1}, {"redis_timeout", cfg.RedisTimeout != 0},
			{"redis_retry_interval", cfg.RedisRetryInterval != 0}, {"redis_prefix", cfg.RedisPrefix != ""}} {
			if k.set {
				bad(k.key, `applies to policy = "redis" only`)
			}
		}
	case "redis":
		s.redis = true
		if spec.Redis() == nil {
			reason := `"redis" needs a [redis] section (the Redis to share counters in), and there is none`
			if st := spec.Settings(); st != nil && st.Redis != nil {
				reason = `"redis" needs the Redis client of [redis], which could not be set up (see the problems of [redis])`
			}
			bad("policy", reason)
		}
	default:
		bad("policy", `must be "local" or "redis", got `+strconv.Quote(cfg.Policy))
	}
	onErr, err := ratelimit.ParseOnError(cfg.OnRedisError)
	if err != nil || cfg.OnRedisError == "" {
		bad("on_redis_error", `must be "local", "allow" or "deny", got `+strconv.Quote(cfg.OnRedisError))
	}
	if cfg.Nodes < 1 {
		bad("nodes", "must be at least 1, got "+strconv.Itoa(cfg.Nodes))
	}
	if cfg.RedisTimeout.Std() > 10*time.Second {
		bad("redis_timeout", `must be at most "10s", got "`+cfg.RedisTimeout.String()+`"`)
	}
	prefix := cfg.RedisPrefix
	if prefix == "" {
		prefix = defaultPrefix
	}
	s.ropts = ratelimit.RedisOptions{
		Prefix:        prefix,
		Timeout:       cfg.RedisTimeout.Std(),
		OnError:       onErr,
		Nodes:         cfg.Nodes,
		RetryInterval: cfg.RedisRetryInterval.Std(),
		Fallback:      s.local,
	}
}
