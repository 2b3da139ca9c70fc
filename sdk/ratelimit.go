package sdk

import (
	"github.com/moongate/moongate/core/ratelimit"
	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "ratelimit", Doc: "The configuration's named rate limits ([[rate_limits]], " +
		"docs/ratelimit.md): a script chooses the key and what to do past the limit; the limit counts, exactly, " +
		`on this node (policy = "local") or for the whole cluster on Redis (policy = "redis", with its ` +
		"on_redis_error when Redis fails)."},
		&Binding{Name: "check", Phases: All, Doc: "Counts a request of key against the named limit and says whether it may pass. " +
			"A refused request is not counted. The call never fails: a limit on Redis decides by its on_redis_error " +
			"when Redis is away or slower than its redis_timeout (or the step's deadline). An unknown name raises an error.",
			Params: []Param{{"name", "string", "the name of a [[rate_limits]] entry"}, {"key", "string", "who is counted: a client, a tenant, ..."},
				{"cost", "integer?", "how many requests this one counts for; default 1"}},
			Returns: []Param{{"allowed", "boolean", "whether the request may pass"},
				{"remaining", "integer", "requests left in the window closest to refusing"},
				{"retry_after", "integer", "when refused, seconds (rounded up) until a request may pass; 0 when allowed"}},
			Example: `local ok, left, wait = gw.ratelimit.check("per-client", gw.request.get_client_ip())
if not ok then
  return gw.response.exit(429, { error = "slow down" }, { ["Retry-After"] = tostring(wait) })
end`,
			Fn: func(s *State, L *lua.LState) int {
				name := L.CheckString(1)
				key := L.CheckString(2)
				cost := L.OptInt64(3, 1)
				if cost < 1 {
					L.ArgError(3, "cost must be at least 1")
				}
				var lim ratelimit.Limiter
				if s.opts.Limits != nil {
					lim = s.opts.Limits(name)
				}
				if lim == nil {
					L.RaiseError("gw.ratelimit.check: no rate limit named %q in [[rate_limits]]", name)
				}
				ctx, cancel := s.redisContext()
				defer cancel()
				s.buf = append(s.buf[:0], key...)
				res := &s.limitResult
				lim.AllowN(ctx, s.buf, cost, res)
				L.Push(lua.LBool(res.Allowed))
				remaining, wait := int64(0), int64(0)
				if len(res.Windows) > 0 {
					remaining = res.Windows[res.Tightest()].Remaining
				}
				if !res.Allowed {
					wait = res.RetryAfterSeconds()
				}
				L.Push(lua.LNumber(remaining))
				L.Push(lua.LNumber(wait))
				return 3
			}},
	)
}
