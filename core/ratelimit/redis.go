package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The scripts below are the Redis side of algo.go: the same arithmetic in
// microseconds, on Redis's clock (TIME inside the script, so the nodes'
// clocks do not matter). Each decision is one script run on one key: it is
// atomic, and in a Cluster it touches one hash slot.
//
// ARGV[1] is "now" in microseconds; 0 (what Redis.Allow always sends) means
// the server's TIME. Tests pass a time to compare the script with the Go
// implementation step by step; Redis expires keys on its own clock, which
// does not follow a given time, so such keys get a fixed TTL of an hour
// (else a loaded test machine would see a key expire early).
//
// Both return {allowed (1/0), retry-after (µs), then per window:
// remaining, reset (µs)}. They write only when the request passes, and set
// the key's TTL to the moment its state is equivalent to a fresh key's, so
// Redis forgets idle keys by itself and never early.

// slidingScript: KEYS[1] is a string holding, per window, the newest
// bucket index (a double) and the ring of k+1 counters (uint32), packed
// little-endian with Redis's struct library: one GET and one SET per
// decision. ARGV: now, cost, k, then per window: limit, bucket width (µs).
const slidingScript = `
local now = tonumber(ARGV[1])
local given = now ~= 0
if not given then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local cost = tonumber(ARGV[2])
local k = tonumber(ARGV[3])
local ring = k + 1
local nw = (#ARGV - 3) / 2
local fmt = '<' .. string.rep('d' .. string.rep('I4', ring), nw)
local raw = redis.call('GET', KEYS[1])
local v
if raw and #raw == nw * (8 + 4 * ring) then
  v = {struct.unpack(fmt, raw)}
else
  v = {}
  for x = 1, nw * (ring + 1) do v[x] = 0 end
  for i = 1, nw do v[(i - 1) * (ring + 1) + 1] = -1 end
end
-- window i: v[o+1] is the newest bucket, v[o+2+s] the counter of slot s
local allowed = true
local bs, sums = {}, {}
for i = 1, nw do
  local o = (i - 1) * (ring + 1)
  local limit, width = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  local b = math.floor(now / width)
  local last = v[o + 1]
  if last < 0 then last = b end
  if b > last then
    if b - last >= ring then
      for s = 0, k do v[o + 2 + s] = 0 end
    else
      for j = last + 1, b do v[o + 2 + j % ring] = 0 end
    end
  else
    b = last
  end
  v[o + 1] = b
  local sum = 0
  for s = 0, k do sum = sum + v[o + 2 + s] end
  bs[i], sums[i] = b, sum
  if sum + cost > limit then allowed = false end
end
local out = {allowed and 1 or 0, 0}
local retry = 0
local fresh = now
for i = 1, nw do
  local o = (i - 1) * (ring + 1)
  local limit, width = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  local b, sum = bs[i], sums[i]
  if allowed then
    v[o + 2 + b % ring] = v[o + 2 + b % ring] + cost
    sum = sum + cost
  end
  local reset = 0
  for d = 0, k do
    if v[o + 2 + (b - d) % ring] ~= 0 then
      local e = (b - d + ring) * width
      reset = e - now
      if e > fresh then fresh = e end
      break
    end
  end
  if not allowed and sum + cost > limit then
    local wait = ring * width
    local acc = 0
    for j = b - k, b do
      acc = acc + v[o + 2 + j % ring]
      if sum - acc + cost <= limit then
        wait = (j + ring) * width - now
        break
      end
    end
    if wait > retry then retry = wait end
  end
  local rem = limit - sum
  if rem < 0 then rem = 0 end
  out[#out + 1] = rem
  out[#out + 1] = reset
end
out[2] = retry
if allowed then
  redis.call('SET', KEYS[1], struct.pack(fmt, unpack(v, 1, nw * (ring + 1))), 'PX', given and 3600000 or math.ceil((fresh - now) / 1000))
end
return out
`

// gcraScript: KEYS[1] is a string holding, per window, the theoretical
// arrival time (µs, a double), packed with struct. ARGV: now, cost, then
// per window: emission interval, tau (burst * emission interval), both µs.
const gcraScript = `
local now = tonumber(ARGV[1])
local given = now ~= 0
if not given then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local cost = tonumber(ARGV[2])
local nw = (#ARGV - 2) / 2
local fmt = '<' .. string.rep('d', nw)
local raw = redis.call('GET', KEYS[1])
local tat
if raw and #raw == 8 * nw then
  tat = {struct.unpack(fmt, raw)}
else
  tat = {}
end
local allowed = true
for i = 1, nw do
  local emit, tau = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  tat[i] = math.max(tat[i] or 0, now)
  if tat[i] + cost * emit - now > tau then allowed = false end
end
local out = {allowed and 1 or 0, 0}
local retry = 0
local fresh = now
for i = 1, nw do
  local emit, tau = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local t = tat[i]
  if allowed then
    t = t + cost * emit
    tat[i] = t
  else
    local over = t + cost * emit - now - tau
    if over > 0 then
      if cost * emit > tau then over = tau end
      if over > retry then retry = over end
    end
  end
  local rem = math.floor((tau - (t - now)) / emit)
  if rem < 0 then rem = 0 end
  out[#out + 1] = rem
  out[#out + 1] = t - now
  if t > fresh then fresh = t end
end
out[2] = retry
if allowed then
  redis.call('SET', KEYS[1], struct.pack(fmt, unpack(tat, 1, nw)), 'PX', given and 3600000 or math.ceil((fresh - now) / 1000))
end
return out
`

var (
	slidingLua = redis.NewScript(slidingScript)
	gcraLua    = redis.NewScript(gcraScript)
)

// OnError is what a Redis limiter does when Redis cannot decide.
type OnError uint8

const (
	// OnErrorLocal (the default) decides with a local limiter whose limits
	// are divided by RedisOptions.Nodes.
	OnErrorLocal OnError = iota
	// OnErrorAllow passes the request without counting it.
	OnErrorAllow
	// OnErrorDeny refuses the request.
	OnErrorDeny
)

// String returns the configuration name of e.
func (e OnError) String() string {
	switch e {
	case OnErrorLocal:
		return "local"
	case OnErrorAllow:
		return "allow"
	case OnErrorDeny:
		return "deny"
	}
	return "on_error(" + strconv.Itoa(int(e)) + ")"
}

// ParseOnError maps "local" (also ""), "allow" and "deny" to an OnError.
func ParseOnError(s string) (OnError, error) {
	switch s {
	case "", "local":
		return OnErrorLocal, nil
	case "allow":
		return OnErrorAllow, nil
	case "deny":
		return OnErrorDeny, nil
	}
	return 0, fmt.Errorf("unknown value %q (want \"local\", \"allow\" or \"deny\")", s)
}

// RedisOptions tune a Redis limiter. The zero value is usable.
type RedisOptions struct {
	// Prefix starts every Redis key of the limiter (default "moongate:rl:").
	// Give each limit its own (e.g. with the route's name): limiters with
	// the same prefix and the same Limit share their counters.
	Prefix string
	// Timeout bounds each Redis call, connection and script included
	// (default 50ms). A call that takes longer counts as a failure.
	Timeout time.Duration
	// OnError chooses what happens when Redis fails (default OnErrorLocal).
	OnError OnError
	// Nodes is the number of gateway nodes sharing the limit: the local
	// fallback allows Requests/Nodes (at least 1) per window (default 1).
	Nodes int
	// RetryInterval is how long after a failure the limiter decides without
	// asking Redis; then one request tries Redis again while the others
	// keep using the fallback (default 1s).
	RetryInterval time.Duration
	// Fallback bounds the local fallback's table (OnErrorLocal).
	Fallback LocalOptions
	// OnDown is called once when Redis fails after working (or at the first
	// failure), with the error; OnUp once when it answers again. Both run
	// on the goroutine of the request that noticed: they must not block.
	OnDown func(err error)
	OnUp   func()
}

// ErrUnavailable is Result.Err for decisions taken without asking Redis
// because it failed less than RetryInterval ago.
var ErrUnavailable = errors.New("ratelimit: redis unavailable, retrying later")

// Redis is the limiter of policy "redis": one decision is one script run on
// Redis, atomic for every node that shares the Redis. When Redis fails or
// is slower than Timeout, the request is decided according to OnError,
// Result.Err says why, and the counters record it; the limiter asks Redis
// again after RetryInterval, by itself.
//
// A Redis is safe for concurrent use.
type Redis struct {
	client    redis.UniversalClient
	c         *compiled
	script    *redis.Script
	args      []any // ARGV with now = 0 and cost = 1
	keyPrefix string

	timeout  time.Duration
	onError  OnError
	retry    time.Duration
	fallback *Local
	onDown   func(error)
	onUp     func()

	downUntil atomic.Int64 // unix ns until which Redis is not asked; 0: up
	probing   atomic.Bool

	calls, errs, timeouts, fallbacks atomic.Uint64
}

const (
	defaultPrefix        = "moongate:rl:"
	defaultTimeout       = 50 * time.Millisecond
	defaultRetryInterval = time.Second
)

// NewRedis returns a Redis limiter for l on client. The client must honour
// context deadlines (go-redis's ContextTimeoutEnabled), so that Timeout
// bounds every call; core/redisconn builds such a client. It should not
// retry commands by itself (MaxRetries -1): a retried script could count a
// request twice.
func NewRedis(client redis.UniversalClient, l Limit, o RedisOptions) (*Redis, error) {
	if client == nil {
		return nil, errors.New("ratelimit: no Redis client")
	}
	if !honoursDeadlines(client) {
		return nil, errors.New("ratelimit: the Redis client ignores context deadlines (ContextTimeoutEnabled is false): calls could block past the timeout")
	}
	c, err := compile(l, time.Microsecond, 1)
	if err != nil {
		return nil, err
	}
	if o.Timeout < 0 || o.RetryInterval < 0 || o.Nodes < 0 {
		return nil, errors.New("ratelimit: timeout, retry interval and nodes must not be negative")
	}
	if o.OnError > OnErrorDeny {
		return nil, fmt.Errorf("ratelimit: on_error: %s", o.OnError)
	}
	r := &Redis{
		client:  client,
		c:       c,
		timeout: cmp(o.Timeout, defaultTimeout),
		onError: o.OnError,
		retry:   cmp(o.RetryInterval, defaultRetryInterval),
		onDown:  o.OnDown,
		onUp:    o.OnUp,
		script:  slidingLua,
		args:    []any{0, 1},
		keyPrefix: func() string {
			p := o.Prefix
			if p == "" {
				p = defaultPrefix
			}
			return p + c.fingerprint + ":{"
		}(),
	}
	if c.alg == GCRA {
		r.script = gcraLua
		for _, w := range c.win {
			r.args = append(r.args, w.emit, w.tau)
		}
	} else {
		r.args = append(r.args, c.k)
		for _, w := range c.win {
			r.args = append(r.args, w.limit, w.width)
		}
	}
	if r.onError == OnErrorLocal {
		fc, err := compile(l, time.Nanosecond, int64(max(1, o.Nodes)))
		if err != nil {
			return nil, err
		}
		if r.fallback, err = newLocal(fc, o.Fallback); err != nil {
			return nil, fmt.Errorf("ratelimit: fallback: %w", err)
		}
	}
	return r, nil
}

func cmp(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func honoursDeadlines(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	}
	return true // other clients (rings, wrappers): the caller's word
}

// Allow decides one request of key on Redis. It returns within about
// Timeout whatever Redis does.
func (r *Redis) Allow(ctx context.Context, key []byte, res *Result) {
	r.AllowN(ctx, key, 1, res)
}

// AllowN is Allow for a request that costs n units (n < 1 counts as 1).
func (r *Redis) AllowN(ctx context.Context, key []byte, n int64, res *Result) {
	n = max(1, n)
	if until := r.downUntil.Load(); until != 0 {
		// Redis failed recently: only one request at a time tries it again,
		// once the retry interval has passed.
		if time.Now().UnixNano() < until || !r.probing.CompareAndSwap(false, true) {
			r.fail(ctx, key, n, ErrUnavailable, res)
			return
		}
		defer r.probing.Store(false)
	}
	r.calls.Add(1)
	err := r.eval(ctx, key, n, 0, res)
	if err == nil {
		if r.downUntil.Load() != 0 && r.downUntil.Swap(0) != 0 && r.onUp != nil {
			r.onUp()
		}
		return
	}
	if ctx.Err() == nil {
		// A failure of Redis, not a request that went away.
		r.errs.Add(1)
		if isTimeout(err) {
			r.timeouts.Add(1)
		}
		if r.downUntil.Swap(time.Now().UnixNano()+int64(r.retry)) == 0 && r.onDown != nil {
			r.onDown(err)
		}
	}
	r.fail(ctx, key, n, err, res)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// eval runs the script for key; nowUS > 0 replaces Redis's clock (tests).
func (r *Redis) eval(ctx context.Context, key []byte, n, nowUS int64, res *Result) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	args := r.args
	if n != 1 || nowUS != 0 {
		args = slices.Clone(r.args)
		args[0], args[1] = nowUS, n
	}
	vals, err := r.script.Run(ctx, r.client, []string{r.keyPrefix + string(key) + "}"}, args...).Int64Slice()
	if err != nil {
		return err
	}
	if len(vals) != 2+2*len(r.c.win) {
		return fmt.Errorf("ratelimit: unexpected script reply of %d values", len(vals))
	}
	res.Allowed = vals[0] == 1
	res.RetryAfter = time.Duration(vals[1]) * time.Microsecond
	res.Windows = res.Windows[:0]
	for i := range r.c.win {
		w := &r.c.win[i]
		res.Windows = append(res.Windows, WindowState{
			Name: w.name, Limit: w.limit, Window: w.per,
			Remaining: vals[2+2*i],
			Reset:     time.Duration(vals[3+2*i]) * time.Microsecond,
		})
	}
	res.Source = SourceRedis
	res.Err = nil
	return nil
}

// fail decides without Redis, according to OnError.
func (r *Redis) fail(ctx context.Context, key []byte, n int64, err error, res *Result) {
	r.fallbacks.Add(1)
	switch r.onError {
	case OnErrorLocal:
		r.fallback.AllowN(ctx, key, n, res)
		res.Source = SourceFallback
	case OnErrorAllow:
		res.Allowed, res.RetryAfter, res.Windows = true, 0, res.Windows[:0]
		res.Source = SourceErrorAllow
	default:
		res.Allowed, res.RetryAfter, res.Windows = false, r.retry, res.Windows[:0]
		res.Source = SourceErrorDeny
	}
	res.Err = err
}

// RedisStats are the counters of a Redis limiter since it was built, for
// metrics.
type RedisStats struct {
	Calls     uint64 // script runs attempted
	Errors    uint64 // runs that failed (timeouts included)
	Timeouts  uint64 // runs that failed by timeout
	Fallbacks uint64 // decisions taken without Redis (by OnError)
	Down      bool   // Redis failed and has not answered since
}

// Stats returns the counters.
func (r *Redis) Stats() RedisStats {
	return RedisStats{
		Calls:     r.calls.Load(),
		Errors:    r.errs.Load(),
		Timeouts:  r.timeouts.Load(),
		Fallbacks: r.fallbacks.Load(),
		Down:      r.downUntil.Load() != 0,
	}
}
