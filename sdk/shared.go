package sdk

import (
	"encoding/json"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "shared", Doc: "Values and counters of the script's own, on this node, changed atomically: " +
		"every Lua state of the process sees the same entries at once, and an increment never loses another's " +
		"(gw.cache cannot do that: a get and a set are two steps). Entries last until their TTL, across reloads, " +
		"not across restarts; the dictionary holds at most lua.shared_size bytes, and a write that finds no room " +
		"(once expired entries are gone) fails rather than evict a live entry. Other nodes do not see them: " +
		"gw.redis is shared by the cluster."},
		&Binding{Name: "get", Doc: "Returns the value stored under key, or nil when absent or expired.",
			Params:  []Param{{"key", "string", "the key"}},
			Returns: []Param{{"value", "string|number?", "the value, a string or a number as it was stored"}},
			Example: `local hits = gw.shared.get("hits:" .. route) or 0`,
			Fn: func(s *State, L *lua.LState) int {
				e, ok := s.dict(L).Get(L.CheckString(1), time.Now())
				if !ok {
					L.Push(lua.LNil)
				} else {
					L.Push(e.lua())
				}
				return 1
			}},
		&Binding{Name: "set", Doc: "Stores a value under key, replacing what was there.",
			Params: []Param{{"key", "string", "the key"}, {"value", "string|number", "the value"},
				{"ttl", "number?", "seconds until it expires (fractions allowed); nil or 0: never"}},
			Returns: []Param{{"ok", "boolean?", "true once stored"}, {"err", "string?", `"no room" when the dictionary is full`}},
			Example: `gw.shared.set("mode", "maintenance", 60)`,
			Fn: func(s *State, L *lua.LState) int {
				d := s.dict(L)
				key, v, ttl := L.CheckString(1), sharedValue(L, 2), sharedTTL(L, 3)
				return pushStored(L, d.Set(key, v, ttl, time.Now()))
			}},
		&Binding{Name: "add", Doc: "Stores a value under key only if the key holds none (or an expired one), " +
			"atomically: of several callers adding the same key at once, exactly one gets true.",
			Params: []Param{{"key", "string", "the key"}, {"value", "string|number", "the value"},
				{"ttl", "number?", "seconds until it expires; nil or 0: never"}},
			Returns: []Param{{"added", "boolean?", "true if stored, false if the key already held a value"},
				{"err", "string?", `"no room" when the dictionary is full`}},
			Example: `if not gw.shared.add("nonce:" .. nonce, 1, 300) then
  return gw.response.exit(409, { error = "nonce already used" })
end`,
			Fn: func(s *State, L *lua.LState) int {
				d := s.dict(L)
				key, v, ttl := L.CheckString(1), sharedValue(L, 2), sharedTTL(L, 3)
				added, err := d.Add(key, v, ttl, time.Now())
				if err != nil {
					return pushErr(L, err)
				}
				L.Push(lua.LBool(added))
				return 1
			}},
		&Binding{Name: "incr", Doc: "Adds by to the number stored under key and returns the sum, atomically. " +
			"A key that holds nothing (or an expired value) starts from 0; ttl is set on a key that has no expiry " +
			"(a new one), and an existing expiry is kept, so that a counter of a fixed window ends with its window.",
			Params: []Param{{"key", "string", "the key"}, {"by", "number?", "what to add (negative subtracts); default 1"},
				{"ttl", "number?", "seconds until a new key expires; nil or 0: never"}},
			Returns: []Param{{"value", "number?", "the new value"},
				{"err", "string?", `"not a number" when the key holds a string, "no room" when the dictionary is full`}},
			Example: `local n = gw.shared.incr("req:" .. gw.request.get_client_ip(), 1, 60)
if n and n > 100 then return gw.response.exit(429) end`,
			Fn: func(s *State, L *lua.LState) int {
				d := s.dict(L)
				key := L.CheckString(1)
				by := float64(L.OptNumber(2, 1))
				if math.IsNaN(by) || math.IsInf(by, 0) {
					L.ArgError(2, "by must be a finite number")
				}
				n, err := d.Incr(key, by, sharedTTL(L, 3), time.Now())
				if err != nil {
					return pushErr(L, err)
				}
				L.Push(lua.LNumber(n))
				return 1
			}},
		&Binding{Name: "delete", Doc: "Removes the value stored under key.",
			Params:  []Param{{"key", "string", "the key"}},
			Example: `gw.shared.delete("mode")`,
			Fn: func(s *State, L *lua.LState) int {
				s.dict(L).Delete(L.CheckString(1))
				return 0
			}},
	)
}

func (s *State) dict(L *lua.LState) *Dict {
	if s.opts.Shared == nil {
		L.RaiseError("gw.shared: no shared dictionary in this context")
	}
	return s.opts.Shared
}

// sharedValue reads a value for gw.shared: a string or a number.
func sharedValue(L *lua.LState, n int) DictValue {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return DictValue{Str: string(v)}
	case lua.LNumber:
		return DictValue{Num: float64(v), IsNum: true}
	default:
		L.ArgError(n, "value must be a string or a number, got "+v.Type().String())
	}
	return DictValue{}
}

// sharedTTL reads an optional TTL in seconds.
func sharedTTL(L *lua.LState, n int) time.Duration {
	ttl := float64(L.OptNumber(n, 0))
	if ttl < 0 || ttl != ttl || ttl > 1e9 {
		L.ArgError(n, "ttl must be a number of seconds, 0 or more")
	}
	return time.Duration(ttl * float64(time.Second))
}

func pushStored(L *lua.LState, err error) int {
	if err != nil {
		return pushErr(L, err)
	}
	L.Push(lua.LTrue)
	return 1
}

// pushErr pushes nil and err's message: an expected failure.
func pushErr(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}

// dictError is an expected failure of a Dict operation.
type dictError string

func (e dictError) Error() string { return string(e) }

// The failures of Dict operations.
const (
	ErrNoRoom    = dictError("no room")
	ErrNotNumber = dictError("not a number")
)

// dictShards is the number of independently locked parts of a Dict.
const dictShards = 16

// dictOverhead is what an entry costs besides its key and string value:
// the map slot, the entry and its header.
const dictOverhead = 64

// DictValue is a value of a Dict: a string, or a number when IsNum.
type DictValue struct {
	Str   string
	Num   float64
	IsNum bool
}

func (v DictValue) lua() lua.LValue {
	if v.IsNum {
		return lua.LNumber(v.Num)
	}
	return lua.LString(v.Str)
}

// Dict is a script's gw.shared dictionary: values and counters that every
// Lua state of the process sees, each operation atomic. It is split in
// shards, each behind its own lock (no global lock); its memory is
// bounded (SetLimit), and a write that finds no room fails instead of
// evicting a live entry. It is safe for concurrent use. The zero value is
// not usable: call NewDict.
type Dict struct {
	seed   maphash.Seed
	limit  atomic.Int64 // bytes per shard
	shards [dictShards]dictShard
}

type dictShard struct {
	mu    sync.Mutex
	m     map[string]dictEntry
	bytes int64
	swept int64 // when expired entries were last all dropped (unix nanoseconds)
}

type dictEntry struct {
	v   DictValue
	exp int64 // unix nanoseconds; 0 never
}

func (e *dictEntry) live(now int64) bool { return e.exp == 0 || now < e.exp }

func (e *dictEntry) cost(key string) int64 {
	return int64(len(key) + len(e.v.Str) + dictOverhead)
}

// NewDict returns an empty dictionary holding at most about limit bytes.
func NewDict(limit int64) *Dict {
	d := &Dict{seed: maphash.MakeSeed()}
	for i := range d.shards {
		d.shards[i].m = map[string]dictEntry{}
	}
	d.SetLimit(limit)
	return d
}

// SetLimit changes the bytes the dictionary may hold (a reload with
// another lua.shared_size). Entries already stored stay.
func (d *Dict) SetLimit(limit int64) { d.limit.Store(max(limit/dictShards, 1)) }

func (d *Dict) shard(key string) *dictShard {
	return &d.shards[maphash.String(d.seed, key)%dictShards]
}

// Get returns the value stored under key, if it has not expired at now.
func (d *Dict) Get(key string, now time.Time) (DictValue, bool) {
	s := d.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	s.mu.Unlock()
	if !ok || !e.live(now.UnixNano()) {
		return DictValue{}, false
	}
	return e.v, true
}

// Set stores v under key for ttl (0: no expiry).
func (d *Dict) Set(key string, v DictValue, ttl time.Duration, now time.Time) error {
	s := d.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return d.put(s, key, dictEntry{v: v, exp: expiry(now, ttl)}, now.UnixNano())
}

// Add stores v under key for ttl when the key holds no live value, and
// reports whether it did.
func (d *Dict) Add(key string, v DictValue, ttl time.Duration, now time.Time) (bool, error) {
	s := d.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := now.UnixNano()
	if e, ok := s.m[key]; ok && e.live(t) {
		return false, nil
	}
	if err := d.put(s, key, dictEntry{v: v, exp: expiry(now, ttl)}, t); err != nil {
		return false, err
	}
	return true, nil
}

// Incr adds by to the number under key (0 when it holds no live value)
// and returns the sum. ttl (0: none) is set when the key has no expiry.
func (d *Dict) Incr(key string, by float64, ttl time.Duration, now time.Time) (float64, error) {
	s := d.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := now.UnixNano()
	e, ok := s.m[key]
	if !ok || !e.live(t) {
		e = dictEntry{v: DictValue{IsNum: true}}
	} else if !e.v.IsNum {
		return 0, ErrNotNumber
	}
	e.v.Num += by
	if e.exp == 0 {
		e.exp = expiry(now, ttl)
	}
	if err := d.put(s, key, e, t); err != nil {
		return 0, err
	}
	return e.v.Num, nil
}

// Delete removes key.
func (d *Dict) Delete(key string) {
	s := d.shard(key)
	s.mu.Lock()
	if e, ok := s.m[key]; ok {
		s.bytes -= e.cost(key)
		delete(s.m, key)
	}
	s.mu.Unlock()
}

// Len returns the number of entries, expired ones not yet dropped
// included. It implements store.Extension.
func (d *Dict) Len() int {
	n := 0
	for i := range d.shards {
		s := &d.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Save implements store.Extension: a dictionary is not kept across
// restarts.
func (d *Dict) Save() (json.RawMessage, error) { return nil, nil }

// put stores e under key in s (locked), making room by dropping expired
// entries when needed.
func (d *Dict) put(s *dictShard, key string, e dictEntry, now int64) error {
	old, had := s.m[key]
	grow := e.cost(key)
	if had {
		grow -= old.cost(key)
	}
	if s.bytes+grow > d.limit.Load() {
		s.sweep(now)
		if had {
			if _, still := s.m[key]; !still {
				had = false
				grow = e.cost(key)
			}
		}
		if s.bytes+grow > d.limit.Load() {
			return ErrNoRoom
		}
	}
	s.m[key] = e
	s.bytes += grow
	return nil
}

// sweep drops expired entries of s (locked): all of them at most every
// 100 ms, and in between those among a few entries (Go's map order is
// random), so that a shard full of live entries fails writes at once
// rather than scanning itself on each.
func (s *dictShard) sweep(now int64) {
	limit := -1
	if now-s.swept < int64(100*time.Millisecond) {
		limit = 32
	} else {
		s.swept = now
	}
	for k, e := range s.m {
		if !e.live(now) {
			s.bytes -= e.cost(k)
			delete(s.m, k)
		}
		if limit--; limit == 0 {
			break
		}
	}
}

func expiry(now time.Time, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return now.Add(ttl).UnixNano()
}
