package config

import "strconv"

// RateLimit is an entry of [[rate_limits]]: a rate limit with a name,
// counted by whoever calls it (a script: gw.ratelimit.check(name, key))
// rather than by a step of a chain. Its keys other than name are those of
// the rate-limit plugin that say how to count (limits, algorithm, burst,
// sub_windows, policy, max_keys, max_memory and the redis_* keys); the
// plugin decodes and checks them, so that both read them the same way.
type RateLimit struct {
	// Name is what callers name the limit by: a token, unique among
	// [[rate_limits]]. Required.
	Name string `toml:"name"`
	// Config is the rest of the entry, undecoded until the rate-limit
	// plugin builds it.
	Config Table `toml:",remain"`
}

// checkRateLimits checks the names of [[rate_limits]]: required, tokens,
// unique. The rest of each entry is the rate-limit plugin's to check.
func (c *Config) checkRateLimits(rep *reporter) {
	seen := map[string]bool{}
	for i := range c.RateLimits {
		p := childPath(indexPath("rate_limits", i), "name")
		switch n := c.RateLimits[i].Name; {
		case n == "":
			rep.add(p, `is required: the name scripts call the limit by (gw.ratelimit.check("name", key))`)
		case !IsToken(n):
			rep.add(p, "must be a token (letters, digits, -._~...), got "+strconv.Quote(n))
		case seen[n]:
			rep.add(p, "duplicate rate limit name "+strconv.Quote(n))
		default:
			seen[n] = true
		}
	}
}
