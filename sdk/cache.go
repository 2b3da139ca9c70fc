package sdk

import (
	"time"

	"github.com/moongate/moongate/core/store"

	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "cache", Doc: "The shared in-memory cache, in a namespace of the script's own " +
		`("lua:" followed by the script's path): every Lua state of this process sees the same entries, ` +
		"which survive reloads. Entries may be evicted early when the cache is full."},
		&Binding{Name: "get", Doc: "Returns the value stored under key, or nil when absent or expired.",
			Params:  []Param{{"key", "string", "the key"}},
			Returns: []Param{{"value", "string?", "the value"}},
			Example: `local owner = gw.cache.get("key:" .. gw.hash.sha256(key))`,
			Fn: func(s *State, L *lua.LState) int {
				ns := s.cacheNS(L)
				s.buf = append(s.buf[:0], L.CheckString(1)...)
				n := len(s.buf)
				v, ok := ns.Get(s.buf, s.buf)
				s.buf = v[:0]
				return pushOpt(L, v[n:], ok)
			}},
		&Binding{Name: "set", Doc: "Stores a value under key. Numbers are stored as strings.",
			Params: []Param{{"key", "string", "the key"}, {"value", "string", "the value"},
				{"ttl", "number?", "seconds until it expires (fractions allowed); nil or 0: until evicted"}},
			Example: `gw.cache.set("tokens:" .. ip, tostring(tokens), 60)`,
			Fn: func(s *State, L *lua.LState) int {
				ns := s.cacheNS(L)
				key := L.CheckString(1)
				val := L.CheckString(2)
				ttl := float64(L.OptNumber(3, 0))
				if ttl < 0 || ttl != ttl {
					L.ArgError(3, "ttl must be a number of seconds, 0 or more")
				}
				s.buf = append(append(s.buf[:0], key...), val...)
				ns.Set(s.buf[:len(key)], s.buf[len(key):], time.Duration(ttl*float64(time.Second)))
				return 0
			}},
		&Binding{Name: "delete", Doc: "Removes the value stored under key.",
			Params:  []Param{{"key", "string", "the key"}},
			Example: `gw.cache.delete("session:" .. id)`,
			Fn: func(s *State, L *lua.LState) int {
				ns := s.cacheNS(L)
				s.buf = append(s.buf[:0], L.CheckString(1)...)
				ns.Delete(s.buf)
				return 0
			}},
	)
}

func (s *State) cacheNS(L *lua.LState) *store.Namespace {
	if s.opts.Cache == nil {
		L.RaiseError("gw.cache: no shared cache in this context")
	}
	return s.opts.Cache
}
