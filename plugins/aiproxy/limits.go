package aiproxy

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
)

// tokenLimits are a route's token budgets per consumer: a request is
// let through while its consumer's budget is not spent (the check costs
// one token), and charged with its real usage once the answer is over.
// A request that goes past the budget is not cut; the next ones wait
// until the windows have room again. The limiter is core/ratelimit's
// Local (policy "local") or Redis (policy "redis": one budget for every
// node on the same Redis, decided by on_redis_error while Redis fails).
type tokenLimits struct {
	*budget
	byCredential bool
}

// budget is a route's limiter, kept across reloads, with what policy
// "redis" needs to bound its calls and to say when it decides without
// Redis.
type budget struct {
	lim   ratelimit.Limiter
	redis *ratelimit.Redis // policy "redis"
	// bound is the deadline of one check or one charge (at most two
	// decisions) of policy "redis": twice redis_timeout, so that the
	// limiter's own per-call timeout always ends first and a slow Redis
	// counts as a Redis failure (not as a call its caller gave up on).
	bound  time.Duration
	onErr  string
	nodes  int
	logger *slog.Logger
	// lastLog is when the budget last said in the log that it decides
	// without Redis (unix nanoseconds).
	lastLog atomic.Int64
}

// fallbackLogInterval is how often a budget deciding without Redis says so
// again in the log, after the line of the failure itself (as a rate-limit
// step does).
const fallbackLogInterval = 10 * time.Second

// limiters keeps each route's limiter across reloads, so that a reload
// does not hand every consumer a fresh budget; a change of the limits
// (or of their policy) starts afresh.
var limiters sync.Map // route + "\x00" + limits → *budget

func newTokenLimits(spec plugin.Spec, cfg LimitsConfig) (*tokenLimits, error) {
	if cfg.TokensPerMinute == 0 && cfg.TokensPerDay == 0 {
		return nil, nil
	}
	var l ratelimit.Limit
	if cfg.TokensPerMinute > 0 {
		l.Windows = append(l.Windows, ratelimit.Window{Requests: cfg.TokensPerMinute, Per: time.Minute, Name: "tokens-per-minute"})
	}
	if cfg.TokensPerDay > 0 {
		l.Windows = append(l.Windows, ratelimit.Window{Requests: cfg.TokensPerDay, Per: 24 * time.Hour, Name: "tokens-per-day"})
	}
	route := spec.Route
	if route == "" {
		route = "*"
	}
	prefix := cfg.RedisPrefix
	if prefix == "" {
		prefix = "moongate:ai-budget:" + route + ":"
	}
	onErr, err := ratelimit.ParseOnError(cfg.OnRedisError)
	if err != nil {
		return nil, err
	}
	id := spec.Route + "\x00" + spec.Path + "\x00" + strconv.FormatInt(cfg.TokensPerMinute, 10) + "/" + strconv.FormatInt(cfg.TokensPerDay, 10) +
		"\x00" + cfg.Policy
	if cfg.Policy == "redis" {
		// The client is the gateway's (one per process, kept across
		// reloads): gateways of one test process each have their own.
		id += fmt.Sprintf("\x00%p\x00%s\x00%s\x00%d\x00%s\x00%s", spec.Redis(), prefix, onErr, cfg.Nodes,
			cfg.RedisTimeout.Std(), cfg.RedisRetryInterval.Std())
	}
	tl := &tokenLimits{byCredential: cfg.By == "credential"}
	if v, ok := limiters.Load(id); ok {
		tl.budget = v.(*budget)
		return tl, nil
	}
	// The logger names the route (or the global step).
	b := &budget{onErr: onErr.String(), nodes: cfg.Nodes, logger: spec.Logger()}
	if cfg.Policy == "redis" {
		timeout := cfg.RedisTimeout.Std()
		if timeout == 0 {
			timeout = 50 * time.Millisecond // core/ratelimit's default
		}
		b.bound = 2 * timeout
		b.redis, err = ratelimit.NewRedis(spec.Redis(), l, ratelimit.RedisOptions{
			Prefix: prefix, Timeout: timeout, OnError: onErr, Nodes: cfg.Nodes,
			RetryInterval: cfg.RedisRetryInterval.Std(), OnDown: b.redisDown, OnUp: b.redisUp,
		})
		if err != nil {
			return nil, err
		}
		b.lim = b.redis
	} else if b.lim, err = ratelimit.NewLocal(l, ratelimit.LocalOptions{}); err != nil {
		return nil, err
	}
	v, _ := limiters.LoadOrStore(id, b)
	tl.budget = v.(*budget)
	return tl, nil
}

// allowN is one decision of the limiter; ctx bounds it (policy "redis").
func (b *budget) allowN(ctx context.Context, key []byte, n int64, res *ratelimit.Result) {
	b.lim.AllowN(ctx, key, n, res)
	if res.Source > ratelimit.SourceRedis {
		b.withoutRedis(res)
	}
}

// callContext returns the context of one check or charge: bounded for policy
// "redis"; a Local limiter does no I/O and ignores it.
func (b *budget) callContext() (context.Context, context.CancelFunc) {
	if b.redis == nil {
		return context.Background(), func() {}
	}
	return context.WithTimeout(context.Background(), b.bound)
}

// redisDown is called once when Redis fails (RedisOptions.OnDown).
func (b *budget) redisDown(err error) {
	b.lastLog.Store(time.Now().UnixNano())
	b.logger.Warn("ai-proxy: token budgets: redis failed, deciding without it until it answers again",
		"on_redis_error", b.onErr, "nodes", b.nodes, "error", err.Error())
}

// redisUp is called once when Redis answers again (RedisOptions.OnUp).
func (b *budget) redisUp() {
	b.logger.Info("ai-proxy: token budgets: redis answers again, deciding on it",
		"fallbacks", b.redis.Stats().Fallbacks)
}

// withoutRedis notes a decision taken without Redis: at most one log line
// per fallbackLogInterval while it lasts.
func (b *budget) withoutRedis(res *ratelimit.Result) {
	now := time.Now().UnixNano()
	last := b.lastLog.Load()
	if now-last < int64(fallbackLogInterval) || !b.lastLog.CompareAndSwap(last, now) {
		return
	}
	st := b.redis.Stats()
	reason := ""
	if res.Err != nil {
		reason = res.Err.Error()
	}
	b.logger.LogAttrs(context.Background(), slog.LevelWarn, "ai-proxy: token budgets: still deciding without redis",
		slog.String("on_redis_error", b.onErr), slog.Uint64("fallbacks", st.Fallbacks),
		slog.Uint64("errors", st.Errors), slog.String("error", reason))
}

// appendKey appends the budget's key of c's request: the consumer's name
// (or credential), or the client's address without a consumer.
func (tl *tokenLimits) appendKey(dst []byte, c *plugin.Context) []byte {
	if cs := c.Consumer; cs != nil && !cs.Anonymous {
		if tl.byCredential && cs.CredentialID != "" {
			return append(append(dst, "k:"...), cs.CredentialID...)
		}
		return append(append(dst, "c:"...), cs.Name...)
	}
	return c.ClientIP().AppendTo(append(dst, "ip:"...))
}

// check reports whether key's budget lets a request through, counting
// one token; res says when to retry otherwise.
func (tl *tokenLimits) check(key []byte, res *ratelimit.Result) bool {
	ctx, cancel := tl.callContext()
	tl.allowN(ctx, key, 1, res)
	cancel()
	return res.Allowed
}

// charge counts the rest of a request's usage (total tokens, less the
// token the check counted). When it does not fit, it fills the budget:
// the limiter counts nothing of a request it refuses.
func (tl *tokenLimits) charge(key []byte, total int64, res *ratelimit.Result) {
	n := total - 1
	if n <= 0 {
		return
	}
	ctx, cancel := tl.callContext()
	defer cancel()
	tl.allowN(ctx, key, n, res)
	if res.Allowed {
		return
	}
	room := int64(-1)
	for _, w := range res.Windows {
		if room < 0 || w.Remaining < room {
			room = w.Remaining
		}
	}
	if room > 0 {
		tl.allowN(ctx, key, room, res)
	}
}
