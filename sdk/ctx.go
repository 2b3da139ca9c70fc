package sdk

import (
	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "ctx", Doc: "Per-request values shared with the other steps of the chain, Go plugins and scripts alike, " +
		"and between a script's own phases (each call may run on a different Lua state: keep per-request data here, not in globals)."},
		&Binding{Name: "get", Phases: All, Doc: "Returns the per-request value stored under key, or nil.",
			Params:  []Param{{"key", "string", "the value's name"}},
			Returns: []Param{{"value", "any", "string, number, boolean or table; nil when unset"}},
			Example: `local tenant = gw.ctx.get("tenant")`,
			Fn: func(s *State, L *lua.LState) int {
				v := s.C.Value(L.CheckString(1))
				// Tables are built anew on every get.
				s.opts.Budget.Charge(L, tableCost(v, 0))
				L.Push(s.ToLua(L, v))
				return 1
			}},
		&Binding{Name: "set", Phases: All, Doc: "Stores a per-request value under key for later steps; nil deletes it. " +
			"Tables are copied (as Go maps and lists), so later changes to the Lua table are not seen.",
			Params:  []Param{{"key", "string", "the value's name"}, {"value", "any", "string, number, boolean, table or nil"}},
			Example: `gw.ctx.set("tenant", "acme")`,
			Fn: func(s *State, L *lua.LState) int {
				key := L.CheckString(1)
				v, err := s.toGo(L.Get(2), 0)
				if err != nil {
					L.ArgError(2, err.Error())
				}
				s.C.SetValue(key, v)
				return 0
			}},
	)
	addNamespace(&Namespace{Name: "consumer", Doc: "The authenticated consumer, set by an auth step (key-auth, jwt, ...) that ran before."},
		&Binding{Name: "get", Phases: All, Doc: "Returns the consumer of the request, or nil when no auth step identified one.",
			Returns: []Param{{"consumer", "{name: string, groups: string[], credential_id: string, anonymous: boolean}?",
				"the consumer: name, groups, the ID of the credential used (never the secret; \"\" when none), and whether it is the anonymous consumer a step gave a request without credentials"}},
			Example: `local who = gw.consumer.get()
if who then gw.request.set_header("X-Consumer", who.name) end`,
			Fn: func(s *State, L *lua.LState) int {
				cs := s.C.Consumer
				if cs == nil {
					L.Push(lua.LNil)
					return 1
				}
				s.opts.Budget.Charge(L, 2*TableCost+(4+len(cs.Groups))*EntryCost)
				t := L.CreateTable(0, 4)
				t.RawSetString("name", lua.LString(cs.Name))
				g := L.CreateTable(len(cs.Groups), 0)
				for _, x := range cs.Groups {
					g.Append(lua.LString(x))
				}
				L.SetMetatable(g, s.arrayMeta)
				t.RawSetString("groups", g)
				t.RawSetString("credential_id", lua.LString(cs.CredentialID))
				t.RawSetString("anonymous", lua.LBool(cs.Anonymous))
				L.Push(t)
				return 1
			}},
	)
	addNamespace(&Namespace{Name: "route", Doc: "The route that matched the request."},
		&Binding{Name: "get_name", Phases: All, Doc: "Returns the matched route's name.",
			Returns: []Param{{"name", "string", `the route's name from [[routes]]`}},
			Example: `if gw.route.get_name() == "admin" then gw.log.info("admin call") end`,
			Fn: func(s *State, L *lua.LState) int {
				if s.C.RouteName() == "" {
					L.Push(lua.LString(""))
				} else {
					L.Push(lua.LString(s.C.RouteName()))
				}
				return 1
			}},
	)
}
