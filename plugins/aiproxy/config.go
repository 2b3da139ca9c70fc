package aiproxy

import (
	"errors"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
)

// Config is the ai-proxy step's TOML table. docs/ai-gateway.md has the
// reference with a full example.
type Config struct {
	// Providers are the LLM providers the route may call.
	Providers []ProviderConfig `toml:"providers"`
	// Models maps the model names clients send to providers.
	Models []ModelConfig `toml:"models"`
	// Prices are the prices per million tokens, by provider model name,
	// for the estimated cost.
	Prices map[string]Price `toml:"prices"`
	// DefaultMaxTokens is the max_tokens sent to an Anthropic provider for
	// an OpenAI request that sets no limit (Anthropic requires one).
	// Default 4096.
	DefaultMaxTokens int `toml:"default_max_tokens"`
	// MaxAttempts bounds the provider calls of one request, other keys
	// and fallbacks included. Default 5.
	MaxAttempts int `toml:"max_attempts"`
	// MaxResponseSize bounds a provider's JSON answer (streams are not
	// held in memory). Default "32MB".
	MaxResponseSize config.Size `toml:"max_response_size"`
	// Limits are token limits per consumer.
	Limits LimitsConfig `toml:"limits"`
	// Cache is the prompt cache.
	Cache CacheConfig `toml:"cache"`
}

// ProviderConfig is one provider of [[...providers]].
type ProviderConfig struct {
	// Name is how models refer to the provider (required, unique).
	Name string `toml:"name"`
	// Type is "openai", "anthropic", "azure-openai" or
	// "openai-compatible" (required).
	Type string `toml:"type"`
	// BaseURL is the base URL the provider's own SDK uses:
	// "https://api.openai.com/v1", "https://api.anthropic.com",
	// "https://NAME.openai.azure.com", "http://localhost:11434/v1".
	// Default for openai and anthropic; required for the others.
	BaseURL string `toml:"base_url"`
	// Keys are the provider API keys: secrets ("${ENV}", "file:/path"),
	// or tables { key = "...", label = "..." }. Required, except for an
	// openai-compatible server that needs none (Ollama, vLLM).
	Keys []Key `toml:"keys"`
	// ConnectTimeout bounds establishing a connection. Default "5s".
	ConnectTimeout config.Duration `toml:"connect_timeout"`
	// FirstByteTimeout bounds the time from sending the request to the
	// answer's headers and, for a stream, its first event. Default "120s".
	FirstByteTimeout config.Duration `toml:"first_byte_timeout"`
	// IdleTimeout bounds the silence between two reads of an answer (two
	// stream events). Default "60s".
	IdleTimeout config.Duration `toml:"idle_timeout"`
	// MaxConnections bounds open connections to the provider. Default 256.
	MaxConnections int `toml:"max_connections"`
	// Headers are extra request headers (OpenRouter's HTTP-Referer, ...).
	// They may not name the headers the gateway sets.
	Headers map[string]string `toml:"headers"`
	// APIVersion is azure-openai's api-version query argument (required
	// for azure-openai).
	APIVersion string `toml:"api_version"`
	// Deployments maps provider model names to azure-openai deployment
	// names; a model not listed is its own deployment name.
	Deployments map[string]string `toml:"deployments"`
	// AnthropicVersion is the anthropic-version header sent to an
	// anthropic provider when the client sent none. Default "2023-06-01".
	AnthropicVersion string `toml:"anthropic_version"`
	// MaxCompletionTokens sends the output limit of a request translated
	// from Anthropic as max_completion_tokens (OpenAI's reasoning models
	// need it) instead of max_tokens. Default false.
	MaxCompletionTokens bool `toml:"max_completion_tokens"`
}

// Key is a provider key with an optional label, shown on the admin API
// instead of the key.
type Key struct {
	Secret config.Secret
	Label  string
}

// DecodeConfig implements config.ValueDecoder: a key is a string (the
// secret) or a table { key = "...", label = "..." }.
func (k *Key) DecodeConfig(v any) error {
	*k = Key{}
	switch x := v.(type) {
	case string:
		return k.Secret.DecodeConfig(x)
	case map[string]any:
		for name, val := range x {
			switch name {
			case "key":
				if err := k.Secret.DecodeConfig(val); err != nil {
					return err
				}
			case "label":
				s, ok := val.(string)
				if !ok {
					return errors.New("label must be a string")
				}
				k.Label = s
			default:
				return errors.New("unknown key " + strconv.Quote(name) + " in a provider key (known: key, label)")
			}
		}
		if _, ok := x["key"]; !ok {
			return errors.New(`a provider key table needs "key"`)
		}
		return nil
	}
	return config.WrongType(`a string (a key, "${ENV}" or "file:/path") or a table { key, label }`, v)
}

// SetDefaults implements config.Defaulter.
func (p *ProviderConfig) SetDefaults() {
	p.ConnectTimeout = config.Duration(5 * time.Second)
	p.FirstByteTimeout = config.Duration(120 * time.Second)
	p.IdleTimeout = config.Duration(60 * time.Second)
	p.MaxConnections = 256
	p.AnthropicVersion = "2023-06-01"
}

// ModelConfig is one entry of [[...models]].
type ModelConfig struct {
	// Name is the model name clients send, or a pattern where "*"
	// matches any text ("claude-*", "*"). Required.
	Name string `toml:"name"`
	// Aliases are more names for the same entry.
	Aliases []string `toml:"aliases"`
	// Targets are where requests go, one picked per request by weight.
	// Required.
	Targets []TargetConfig `toml:"targets"`
	// Fallback is tried in order when the targets fail (429, 5xx,
	// connection failure or timeout before anything reached the client).
	Fallback []TargetConfig `toml:"fallback"`
}

// TargetConfig is a provider and the model name to send it.
type TargetConfig struct {
	// Provider names an entry of providers (required).
	Provider string `toml:"provider"`
	// Model is the provider's model name; "" sends the client's.
	Model string `toml:"model"`
	// Weight is the share of requests among the targets. Default 1.
	Weight int `toml:"weight"`
}

// SetDefaults implements config.Defaulter.
func (t *TargetConfig) SetDefaults() { t.Weight = 1 }

// Price is what a provider model costs, in USD per million tokens.
type Price struct {
	Input       float64 `toml:"input"`
	Output      float64 `toml:"output"`
	CachedInput float64 `toml:"cached_input"` // default: input
}

// LimitsConfig is [...limits]: token budgets per consumer.
type LimitsConfig struct {
	// TokensPerMinute and TokensPerDay are the budgets (0: none).
	TokensPerMinute int64 `toml:"tokens_per_minute"`
	TokensPerDay    int64 `toml:"tokens_per_day"`
	// By is what a budget belongs to: "consumer" (default) or
	// "credential" (each key of a consumer has its own). Requests
	// without a consumer count under the client's IP address.
	By string `toml:"by"`
	// Policy is "local" (each node counts alone; the default) or
	// "redis" (one budget for every node on the same Redis; needs the
	// gateway's [redis] section).
	Policy string `toml:"policy"`
	// OnRedisError is what a request gets when Redis fails or is slower
	// than redis_timeout (policy "redis"): "local" decides on this node
	// with every budget divided by nodes, "allow" lets it through
	// uncounted, "deny" answers 429. Each is logged. Default "local".
	OnRedisError string `toml:"on_redis_error"`
	// Nodes is the number of gateway nodes sharing the budgets, by which
	// on_redis_error = "local" divides them. Default 1.
	Nodes int `toml:"nodes"`
	// RedisTimeout bounds one decision on Redis, connection included.
	// Default "50ms".
	RedisTimeout config.Duration `toml:"redis_timeout"`
	// RedisRetryInterval is how long after a failure requests are decided
	// by on_redis_error without asking Redis; then one request tries it
	// again. Default "1s".
	RedisRetryInterval config.Duration `toml:"redis_retry_interval"`
	// RedisPrefix starts the budgets' Redis keys; steps (on any node)
	// with the same prefix and the same budgets share them. Default
	// "moongate:ai-budget:<route>:".
	RedisPrefix string `toml:"redis_prefix"`
}

// CacheConfig is [...cache]: the prompt cache.
type CacheConfig struct {
	// Enabled turns the cache on. Default false.
	Enabled bool `toml:"enabled"`
	// TTL is how long an answer is served from the cache. Default "1h".
	TTL config.Duration `toml:"ttl"`
	// Shared shares entries between consumers. Default false: each
	// consumer has its own.
	Shared bool `toml:"shared"`
	// AnyTemperature caches requests whose temperature is above 0 or
	// unset (the providers' default is 1). Default false.
	AnyTemperature bool `toml:"any_temperature"`
	// MaxEntrySize bounds one cached answer. Default "1MB".
	MaxEntrySize config.Size `toml:"max_entry_size"`
}

func defaultConfig() Config {
	return Config{
		DefaultMaxTokens: 4096,
		MaxAttempts:      5,
		MaxResponseSize:  32 << 20,
		Limits:           LimitsConfig{By: "consumer", Policy: "local", OnRedisError: "local", Nodes: 1},
		Cache:            CacheConfig{TTL: config.Duration(time.Hour), MaxEntrySize: 1 << 20},
	}
}

// Provider types.
const (
	typeOpenAI     = "openai"
	typeAnthropic  = "anthropic"
	typeAzure      = "azure-openai"
	typeCompatible = "openai-compatible"
)

var defaultBaseURL = map[string]string{
	typeOpenAI:    "https://api.openai.com/v1",
	typeAnthropic: "https://api.anthropic.com",
}

// reservedHeaders are set by the gateway on provider requests; a
// provider's headers may not name them.
var reservedHeaders = []string{"authorization", "api-key", "x-api-key", "content-type", "content-length",
	"host", "accept", "connection", "transfer-encoding", "anthropic-version"}

// check reports every problem of cfg at once, each at its key.
func (cfg *Config) check(spec plugin.Spec) error {
	t := spec.Config
	var ps config.Problems
	add := func(key, reason string) {
		var p config.Problem
		if errors.As(t.Problem(key, reason), &p) {
			ps = append(ps, p)
		}
	}
	if len(cfg.Providers) == 0 {
		add("providers", "needs at least one provider")
	}
	if len(cfg.Models) == 0 {
		add("models", "needs at least one model")
	}
	if cfg.DefaultMaxTokens < 1 {
		add("default_max_tokens", "must be at least 1, got "+strconv.Itoa(cfg.DefaultMaxTokens))
	}
	if cfg.MaxAttempts < 1 || cfg.MaxAttempts > 20 {
		add("max_attempts", "must be between 1 and 20, got "+strconv.Itoa(cfg.MaxAttempts))
	}
	if cfg.MaxResponseSize < 1024 {
		add("max_response_size", "must be at least 1KB, got "+cfg.MaxResponseSize.String())
	}
	names := map[string]int{}
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		key := "providers[" + strconv.Itoa(i) + "]"
		if p.Name == "" {
			add(key+".name", "is required")
		} else if j, dup := names[p.Name]; dup {
			add(key+".name", "provider "+strconv.Quote(p.Name)+" is already defined at providers["+strconv.Itoa(j)+"]")
		} else {
			names[p.Name] = i
		}
		switch p.Type {
		case typeOpenAI, typeAnthropic, typeAzure, typeCompatible:
		case "":
			add(key+".type", `is required: "openai", "anthropic", "azure-openai" or "openai-compatible"`)
		default:
			hint := ""
			if s := config.Suggest(p.Type, []string{typeOpenAI, typeAnthropic, typeAzure, typeCompatible}); s != "" {
				hint = " (did you mean " + strconv.Quote(s) + "?)"
			}
			add(key+".type", "unknown provider type "+strconv.Quote(p.Type)+hint+
				`: "openai", "anthropic", "azure-openai" or "openai-compatible"`)
		}
		if p.BaseURL == "" {
			p.BaseURL = defaultBaseURL[p.Type]
			if p.BaseURL == "" && p.Type != "" {
				add(key+".base_url", "is required for type "+strconv.Quote(p.Type))
			}
		} else if reason := checkBaseURL(p.BaseURL); reason != "" {
			add(key+".base_url", reason)
		}
		if len(p.Keys) == 0 && p.Type != typeCompatible && p.Type != "" {
			add(key+".keys", "needs at least one provider key (\"${ENV}\" or \"file:/path\")")
		}
		for j := range p.Keys {
			k := &p.Keys[j]
			kk := key + ".keys[" + strconv.Itoa(j) + "]"
			if pr := k.Secret.Problem(); pr != "" {
				add(kk, pr)
			} else if k.Secret.Empty() {
				add(kk, "is empty")
			} else if !config.IsHeaderValue(k.Secret.Value()) {
				add(kk, "holds characters a header value cannot (line breaks, control characters)")
			}
			if k.Label != "" && !config.IsVisibleASCII(k.Label) {
				add(kk+".label", "must be printable ASCII without spaces")
			}
		}
		for name, d := range map[string]config.Duration{"connect_timeout": p.ConnectTimeout,
			"first_byte_timeout": p.FirstByteTimeout, "idle_timeout": p.IdleTimeout} {
			if d.Std() <= 0 {
				add(key+"."+name, "must be more than 0s, got "+d.String())
			}
		}
		if p.MaxConnections < 1 {
			add(key+".max_connections", "must be at least 1, got "+strconv.Itoa(p.MaxConnections))
		}
		for _, h := range sortedMapKeys(p.Headers) {
			switch {
			case !config.IsToken(h):
				add(key+".headers", strconv.Quote(h)+" is not a valid header name")
			case isReserved(h):
				add(key+".headers", strconv.Quote(h)+" is set by the gateway and cannot be configured")
			case !config.IsHeaderValue(p.Headers[h]):
				add(key+".headers."+h, "holds characters a header value cannot")
			}
		}
		if p.Type == typeAzure {
			if p.APIVersion == "" {
				add(key+".api_version", `is required for azure-openai, e.g. "2024-10-21"`)
			} else if strings.ContainsAny(p.APIVersion, "&#?/ \t\r\n") {
				add(key+".api_version", "is not a valid api-version")
			}
		} else {
			if p.APIVersion != "" {
				add(key+".api_version", "is for azure-openai providers only")
			}
			if len(p.Deployments) > 0 {
				add(key+".deployments", "are for azure-openai providers only")
			}
		}
		for _, m := range sortedMapKeys(p.Deployments) {
			if d := p.Deployments[m]; d == "" || strings.ContainsAny(d, "/?#%\\ \t\r\n") {
				add(key+".deployments."+m, "is not a valid deployment name")
			}
		}
		if !config.IsHeaderValue(p.AnthropicVersion) || p.AnthropicVersion == "" {
			add(key+".anthropic_version", "must be a version such as \"2023-06-01\"")
		}
	}
	seen := map[string]string{}
	for i := range cfg.Models {
		m := &cfg.Models[i]
		key := "models[" + strconv.Itoa(i) + "]"
		for j, n := range append([]string{m.Name}, m.Aliases...) {
			nk := key + ".name"
			if j > 0 {
				nk = key + ".aliases[" + strconv.Itoa(j-1) + "]"
			}
			switch {
			case n == "":
				add(nk, "is required")
			case strings.ContainsAny(n, "\x00\r\n"):
				add(nk, "holds control characters")
			case seen[n] != "":
				add(nk, "model "+strconv.Quote(n)+" is already defined at "+seen[n])
			default:
				seen[n] = nk
			}
		}
		if len(m.Targets) == 0 {
			add(key+".targets", "needs at least one target { provider = ..., model = ... }")
		}
		for j, list := range [][]TargetConfig{m.Targets, m.Fallback} {
			lk := key + ".targets"
			if j == 1 {
				lk = key + ".fallback"
			}
			for k := range list {
				tg := &list[k]
				tk := lk + "[" + strconv.Itoa(k) + "]"
				if _, ok := names[tg.Provider]; !ok {
					hint := ""
					if s := config.Suggest(tg.Provider, sortedMapKeys(names)); s != "" {
						hint = " (did you mean " + strconv.Quote(s) + "?)"
					}
					add(tk+".provider", "unknown provider "+strconv.Quote(tg.Provider)+hint)
				}
				if tg.Weight < 1 || tg.Weight > 1000 {
					add(tk+".weight", "must be between 1 and 1000, got "+strconv.Itoa(tg.Weight))
				}
			}
		}
	}
	for _, m := range sortedMapKeys(cfg.Prices) {
		p := cfg.Prices[m]
		for name, v := range map[string]float64{"input": p.Input, "output": p.Output, "cached_input": p.CachedInput} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v > 1e6 {
				add("prices."+m+"."+name, "must be a price in USD per million tokens, between 0 and 1000000")
			}
		}
	}
	l := &cfg.Limits
	if l.TokensPerMinute < 0 || l.TokensPerMinute > 1<<31 {
		add("limits.tokens_per_minute", "must be between 0 (no limit) and 2147483648")
	}
	if l.TokensPerDay < 0 || l.TokensPerDay > 1<<31 {
		add("limits.tokens_per_day", "must be between 0 (no limit) and 2147483648")
	}
	if l.By != "consumer" && l.By != "credential" {
		add("limits.by", `must be "consumer" or "credential", got `+strconv.Quote(l.By))
	}
	switch l.Policy {
	case "local":
		for _, k := range []struct {
			key string
			set bool
		}{{"on_redis_error", l.OnRedisError != "local"}, {"nodes", l.Nodes != 1}, {"redis_timeout", l.RedisTimeout != 0},
			{"redis_retry_interval", l.RedisRetryInterval != 0}, {"redis_prefix", l.RedisPrefix != ""}} {
			if k.set {
				add("limits."+k.key, `applies to policy = "redis" only`)
			}
		}
	case "redis":
		if spec.Redis() == nil {
			reason := `"redis" needs a [redis] section (the Redis to share the token budgets in), and there is none`
			if st := spec.Settings(); st != nil && st.Redis != nil {
				reason = `"redis" needs the Redis client of [redis], which could not be set up (see the problems of [redis])`
			}
			add("limits.policy", reason)
		}
	default:
		add("limits.policy", `must be "local" or "redis", got `+strconv.Quote(l.Policy))
	}
	if _, err := ratelimit.ParseOnError(l.OnRedisError); err != nil || l.OnRedisError == "" {
		add("limits.on_redis_error", `must be "local", "allow" or "deny", got `+strconv.Quote(l.OnRedisError))
	}
	if l.Nodes < 1 || l.Nodes > 10000 {
		add("limits.nodes", "must be between 1 and 10000, got "+strconv.Itoa(l.Nodes))
	}
	if l.RedisTimeout.Std() < 0 || l.RedisTimeout.Std() > 10*time.Second {
		add("limits.redis_timeout", `must be between "0s" (the default, 50ms) and "10s", got "`+l.RedisTimeout.String()+`"`)
	}
	if l.RedisRetryInterval.Std() < 0 {
		add("limits.redis_retry_interval", `must not be negative, got "`+l.RedisRetryInterval.String()+`"`)
	}
	if cfg.Cache.TTL.Std() <= 0 {
		add("cache.ttl", "must be more than 0s, got "+cfg.Cache.TTL.String())
	}
	if cfg.Cache.MaxEntrySize < 1024 {
		add("cache.max_entry_size", "must be at least 1KB, got "+cfg.Cache.MaxEntrySize.String())
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

// checkBaseURL returns why u cannot be a provider base URL, or "".
func checkBaseURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
		return "must be an http:// or https:// URL, such as \"https://api.openai.com/v1\""
	}
	if pu.User != nil {
		return "must not hold credentials: put provider keys in keys"
	}
	if pu.RawQuery != "" || pu.Fragment != "" {
		return "must not have a query or a fragment"
	}
	return ""
}

func isReserved(h string) bool {
	for _, r := range reservedHeaders {
		if strings.EqualFold(h, r) {
			return true
		}
	}
	return false
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
