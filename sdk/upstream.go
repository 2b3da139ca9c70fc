package sdk

import (
	"github.com/moongate/moongate/core/config"
	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "upstream", Doc: "Where the request goes: the route's upstream unless a step changes it."},
		&Binding{Name: "get_name", Phases: All, Doc: "Returns the name of the upstream the request goes to, or nil when the route has none.",
			Returns: []Param{{"name", "string?", "the upstream's name"}},
			Example: `local up = gw.upstream.get_name()`,
			Fn: func(s *State, L *lua.LState) int {
				if s.C.UpstreamName() == "" {
					L.Push(lua.LNil)
				} else {
					L.Push(lua.LString(s.C.UpstreamName()))
				}
				return 1
			}},
		&Binding{Name: "set_upstream", Phases: Request, Doc: "Sends the request to another upstream of the configuration, by name.",
			Params: []Param{{"name", "string", "an upstream's name from [[upstreams]]"}},
			Returns: []Param{{"ok", "boolean?", "true when set, nil when there is no such upstream"},
				{"err", "string?", "why it was not set"}},
			Example: `local ok, err = gw.upstream.set_upstream("tenant-" .. tenant)
if not ok then return gw.response.exit(404, { error = "unknown tenant" }) end`,
			Fn: func(s *State, L *lua.LState) int {
				name := L.CheckString(1)
				if !s.C.SetUpstream(name) {
					L.Push(lua.LNil)
					L.Push(lua.LString("unknown upstream \"" + name + "\""))
					return 2
				}
				L.Push(lua.LTrue)
				return 1
			}},
		&Binding{Name: "set_target", Phases: Request, Doc: "Sends the request to one server instead of a target picked by the balancer. " +
			"The upstream's timeouts and limits still apply.",
			Params: []Param{{"url", "string", `"http://host:port" or "https://host:port", no path`}},
			Returns: []Param{{"ok", "boolean?", "true when set, nil when the URL is not valid"},
				{"err", "string?", "why it was not set"}},
			Example: `gw.upstream.set_target("http://10.0.0.7:8080")`,
			Fn: func(s *State, L *lua.LState) int {
				url := L.CheckString(1)
				if why := config.CheckTargetURL(url); why != "" {
					L.Push(lua.LNil)
					L.Push(lua.LString("target " + why))
					return 2
				}
				s.C.SetTarget(url)
				L.Push(lua.LTrue)
				return 1
			}},
	)
}
