package aiproxy

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
)

// tokenLimits are a route's token budgets per consumer: a request is
// let through while its consumer's budget is not spent (the check costs
// one token), and charged with its real usage once the answer is over.
// A request that goes past the budget is not cut; the next ones wait
// until the windows have room again. lim is core/ratelimit's Local (policy
// "local"); a Redis limiter of the same package takes its place once the
// gateway has a [redis] section to build it from.
type tokenLimits struct {
	lim          ratelimit.Limiter
	byCredential bool
}

// limiters keeps each route's limiter across reloads, so that a reload
// does not hand every consumer a fresh budget; a change of the limits
// starts afresh.
var limiters sync.Map // route + "\x00" + limits → ratelimit.Limiter

func newTokenLimits(route string, cfg LimitsConfig) (*tokenLimits, error) {
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
	id := route + "\x00" + strconv.FormatInt(cfg.TokensPerMinute, 10) + "/" + strconv.FormatInt(cfg.TokensPerDay, 10)
	tl := &tokenLimits{byCredential: cfg.By == "credential"}
	if v, ok := limiters.Load(id); ok {
		tl.lim = v.(ratelimit.Limiter)
		return tl, nil
	}
	lim, err := ratelimit.NewLocal(l, ratelimit.LocalOptions{})
	if err != nil {
		return nil, err
	}
	v, _ := limiters.LoadOrStore(id, lim)
	tl.lim = v.(ratelimit.Limiter)
	return tl, nil
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
	tl.lim.AllowN(context.Background(), key, 1, res)
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
	tl.lim.AllowN(context.Background(), key, n, res)
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
		tl.lim.AllowN(context.Background(), key, room, res)
	}
}
