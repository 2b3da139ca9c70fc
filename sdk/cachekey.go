package sdk

import (
	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "cache_key", Doc: "The cache key of the request: what a script decided that changes the answer " +
		"(a canary upstream, a tenant, a rewrite) added to the key of a `cache` step placed after the script, so that requests " +
		"the script treats differently never share a cached response. The upstream and target a script picks are in the key " +
		"already; the `cache` step's `key_ctx` adds `gw.ctx` values by name. Only steps before the `cache` step count: " +
		"a response whose key changed after the cache step looked it up is not stored (docs/cache.md)."},
		&Binding{Name: "add", Phases: Request, Doc: "Adds value to the request's cache key. Values count in the order they are added; " +
			"requests that add nothing share entries only with each other.",
			Params: []Param{{"value", "string", "the part to add (a number is added as its string)"}},
			Example: `if canary then
  gw.upstream.set_upstream("api-canary")
  gw.cache_key.add("canary")
end`,
			Fn: func(s *State, L *lua.LState) int {
				v := L.CheckString(1)
				s.buf = append(s.buf[:0], v...)
				s.C.AddCacheKey(s.buf)
				return 0
			}},
	)
}
