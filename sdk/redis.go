package sdk

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	lua "github.com/yuin/gopher-lua"
)

// RedisPrefix starts every key gw.redis reads or writes: scripts share
// one key space, apart from the keys moongate's own plugins keep in the
// same Redis (rate limits, replay marks, revoked sessions).
const RedisPrefix = "moongate:lua:"

// maxRedisKey bounds the keys of gw.redis.
const maxRedisKey = 1024

// defaultRedisTimeout bounds gw.redis calls made without a deadline
// (tests): inside a request, the step's deadline does.
const defaultRedisTimeout = time.Second

// incrScript is gw.redis.incr: INCRBY and, on a key without expiry (a
// new one), PEXPIRE, in one atomic step and one round trip.
var incrScript = redis.NewScript(`local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return v`)

func init() {
	addNamespace(&Namespace{Name: "redis", Doc: "Values and counters shared by every node of the cluster, in the Redis of the " +
		"configuration's [redis] section (see docs/cluster.md); a script without one raises an error. Keys are " +
		`the script's own under "` + RedisPrefix + `" (scripts share them; moongate's plugins keep theirs apart). ` +
		"Each call is one round trip, bounded by the step's deadline (lua.timeout, default 1s, or the step's " +
		"timeout): when Redis fails, or has not answered shortly before that deadline (a tenth of the time left " +
		"is kept, at most 50 ms), it returns nil and a message, and the script decides what the request gets. " +
		"For node-local counters without a round trip, gw.shared."},
		&Binding{Name: "get", Phases: All, Doc: "Returns the value stored under key, or nil when there is none.",
			Params: []Param{{"key", "string", "the key"}},
			Returns: []Param{{"value", "string?", "the value; nil when absent (or on failure)"},
				{"err", "string?", "why Redis did not answer: only on failure"}},
			Example: `local v, err = gw.redis.get("flag:" .. tenant)
if err then gw.log.warn("redis: ", err) end`,
			Fn: func(s *State, L *lua.LState) int {
				rc := s.redisClient(L)
				key := redisKey(L, 1)
				ctx, cancel := s.redisContext()
				defer cancel()
				v, err := rc.Get(ctx, key).Result()
				if err == redis.Nil {
					L.Push(lua.LNil)
					return 1
				}
				if err != nil {
					return pushRedisErr(L, err)
				}
				s.checkSize(L, "gw.redis.get", len(v))
				L.Push(lua.LString(v))
				return 1
			}},
		&Binding{Name: "set", Phases: All, Doc: "Stores a value under key, replacing what was there.",
			Params: []Param{{"key", "string", "the key"}, {"value", "string", "the value (a number is stored as its text)"},
				{"ttl", "number?", "seconds until it expires (fractions allowed, to the millisecond); nil or 0: never"}},
			Returns: []Param{{"ok", "boolean?", "true once stored"}, {"err", "string?", "why not"}},
			Example: `local ok, err = gw.redis.set("flag:" .. tenant, "on", 3600)`,
			Fn: func(s *State, L *lua.LState) int {
				rc := s.redisClient(L)
				key := redisKey(L, 1)
				val := L.CheckString(2)
				ttl := redisTTL(L, 3)
				ctx, cancel := s.redisContext()
				defer cancel()
				if err := rc.Set(ctx, key, val, ttl).Err(); err != nil {
					return pushRedisErr(L, err)
				}
				L.Push(lua.LTrue)
				return 1
			}},
		&Binding{Name: "incr", Phases: All, Doc: "Adds by to the integer stored under key and returns the sum, atomically for " +
			"the whole cluster. A key that holds nothing starts from 0; ttl is set on a key without expiry (a new " +
			"one) and an existing expiry is kept, so that a counter of a fixed window ends with its window.",
			Params: []Param{{"key", "string", "the key"}, {"by", "integer?", "what to add (negative subtracts); default 1"},
				{"ttl", "number?", "seconds until a new key expires (to the millisecond); nil or 0: never"}},
			Returns: []Param{{"value", "integer?", "the new value"}, {"err", "string?", "why not (Redis away, the key holds no integer)"}},
			Example: `local n, err = gw.redis.incr("orders:" .. tenant, 1, 60)
if n and n > 1000 then return gw.response.exit(429) end`,
			Fn: func(s *State, L *lua.LState) int {
				rc := s.redisClient(L)
				key := redisKey(L, 1)
				by := L.OptNumber(2, 1)
				if float64(by) != float64(int64(by)) {
					L.ArgError(2, "by must be an integer")
				}
				ttl := redisTTL(L, 3)
				ctx, cancel := s.redisContext()
				defer cancel()
				n, err := incrScript.Run(ctx, rc, []string{key}, int64(by), ttl.Milliseconds()).Int64()
				if err != nil {
					return pushRedisErr(L, err)
				}
				L.Push(lua.LNumber(n))
				return 1
			}},
		&Binding{Name: "del", Phases: All, Doc: "Removes key.",
			Params:  []Param{{"key", "string", "the key"}},
			Returns: []Param{{"ok", "boolean?", "true, whether the key existed or not"}, {"err", "string?", "why not"}},
			Example: `gw.redis.del("flag:" .. tenant)`,
			Fn: func(s *State, L *lua.LState) int {
				rc := s.redisClient(L)
				key := redisKey(L, 1)
				ctx, cancel := s.redisContext()
				defer cancel()
				if err := rc.Del(ctx, key).Err(); err != nil {
					return pushRedisErr(L, err)
				}
				L.Push(lua.LTrue)
				return 1
			}},
	)
}

func (s *State) redisClient(L *lua.LState) redis.UniversalClient {
	if s.opts.Redis == nil {
		L.RaiseError("gw.redis: the configuration has no [redis] section (the Redis the nodes share)")
	}
	return s.opts.Redis
}

// redisContext bounds a call by the step's deadline, less a reserve (a
// tenth of the time left, at most 50 ms) in which the script gets the
// failure and decides what the request gets, before the deadline ends
// the script itself.
func (s *State) redisContext() (context.Context, context.CancelFunc) {
	if s.Deadline.IsZero() {
		return context.WithTimeout(context.Background(), defaultRedisTimeout)
	}
	left := time.Until(s.Deadline)
	return context.WithTimeout(context.Background(), left-min(left/10, 50*time.Millisecond))
}

// redisKey reads the key argument n and returns it with RedisPrefix.
func redisKey(L *lua.LState, n int) string {
	k := L.CheckString(n)
	if len(k) > maxRedisKey {
		L.ArgError(n, "key longer than "+strconv.Itoa(maxRedisKey)+" bytes")
	}
	return RedisPrefix + k
}

// redisTTL reads an optional TTL in seconds, to the millisecond.
func redisTTL(L *lua.LState, n int) time.Duration {
	ttl := sharedTTL(L, n)
	if ttl > 0 && ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	return ttl.Truncate(time.Millisecond)
}

// pushRedisErr pushes nil and a short reason: "timeout", "redis
// unreachable: ...", or Redis's error reply. go-redis's errors never
// carry the password.
func pushRedisErr(L *lua.LState, err error) int {
	msg := err.Error()
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		msg = "timeout"
	case errors.As(err, new(*net.OpError)):
		msg = "redis unreachable: " + msg
	}
	L.Push(lua.LNil)
	L.Push(lua.LString(msg))
	return 2
}
