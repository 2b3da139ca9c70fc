// Package ratelimit decides whether a request may pass a rate limit: the
// engine behind the rate-limit plugin, usable by anything that needs one.
//
// A Limit is any number of windows ("100 per minute", "10 per second"), all
// of which must pass; a refused request is counted in none. Two algorithms:
//
//   - SlidingWindow (default). Each window of length P is split into k
//     buckets of width w = ceil(P/k) (k = Limit.SubWindows, default 20), and
//     a decision at time t counts the buckets that overlap [t-P, t]: the
//     current one and the k before it. The guarantee, exact and for every
//     key: at most N requests pass in ANY closed interval of length P,
//     whatever its start (not only in aligned windows). The price of
//     bounded memory: a request may be refused although fewer than N passed
//     in the last P, but only if N passed in the last P+w. A client that
//     hammers the limit gets N per P+w at worst (5% less than N per P with
//     20 buckets), one that stays under the rate is never refused.
//     (Cloudflare's and Kong's "sliding window" weight two fixed windows
//     and can let up to 2N pass in some interval of length P; a sliding
//     log is exact both ways but keeps N timestamps per key.)
//   - GCRA, a token bucket of Burst tokens (default N) refilled at N per P:
//     at most Burst + floor(d/T) requests pass in any interval of length d,
//     T = ceil(P/N); a request is refused only if the bucket lacks its cost.
//
// Two policies implement Limiter:
//
//   - Local: exact on one node. A sharded table (one mutex per shard, no
//     global lock) holds each key's state; a decision for a known key
//     allocates nothing. Memory is bounded (LocalOptions.MaxKeys,
//     MaxBytes). A key is evicted only when its state equals a fresh key's;
//     when a shard is full of live keys, new keys share the shard's
//     overflow state (one conservative limit for all of them) and, when
//     they enter the table, start from a copy of it: no key ever gets quota
//     back early.
//   - Redis: one Lua script run per decision (EVALSHA, EVAL when the script
//     cache was flushed), atomic across every node that shares the Redis,
//     on Redis's clock. State is one string key per limited key, with a TTL
//     that ends when the state is fresh. When Redis fails or is slower than
//     RedisOptions.Timeout, the decision follows OnError (a local fallback
//     with the limit divided by the node count, allow, or deny), Result.Err
//     and the counters say so, and Redis is tried again after
//     RetryInterval.
//
// A Result carries everything the RateLimit header fields and Retry-After
// need as numbers; AppendRateLimit and AppendRateLimitPolicy write the IETF
// fields without allocating. docs/ratelimit.md has the details.
package ratelimit
