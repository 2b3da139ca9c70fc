package sdk

import (
	"strconv"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "request", Doc: "The request as it will be sent upstream: it starts as the client sent it " +
		"(after the gateway removed hop-by-hop headers and forged identity headers), and the getters see the changes " +
		"steps made since (set_header, set_path, set_method, set_query_arg, ...), which reach the upstream. " +
		"What the client itself sent, whatever the steps changed, is read with get_original_header, get_original_headers " +
		"and get_raw_query (Kong's kong.request; the other getters are Kong's kong.service.request view). " +
		"In on_log only headers, method, path and query remain (bodies are gone)."},
		&Binding{Name: "get_method", Phases: All, Doc: "Returns the request method.",
			Returns: []Param{{"method", "string", `"GET", "POST", ...`}},
			Example: `if gw.request.get_method() == "OPTIONS" then return end`,
			Fn:      func(s *State, L *lua.LState) int { pushBytes(L, s.C.Method()); return 1 }},
		&Binding{Name: "set_method", Phases: Request, Doc: "Sets the method sent upstream. Methods are case-sensitive " +
			"(RFC 9110 §9.1): give the standard ones in upper case. Retries follow the new method: " +
			"a request turned into a POST is not sent twice unless the route allows it.",
			Params:  []Param{{"method", "string", `e.g. "POST"; any token but CONNECT`}},
			Example: `if gw.request.get_header("X-HTTP-Method-Override") == "PATCH" then gw.request.set_method("PATCH") end`,
			Fn: func(s *State, L *lua.LState) int {
				m := L.CheckString(1)
				if !config.IsToken(m) {
					L.ArgError(1, "method must be a token, got "+strconv.Quote(m))
				}
				if m == "CONNECT" {
					L.ArgError(1, "CONNECT cannot be sent upstream on a route")
				}
				s.C.Request.Header.SetMethod(m)
				return 0
			}},
		&Binding{Name: "get_path", Phases: All, Doc: "Returns the normalized path: dot segments resolved, " +
			"duplicate slashes merged, percent-encoding decoded. It is the path routing matched and the one sent upstream, " +
			"unless set_path, strip_prefix or rewrite change it.",
			Returns: []Param{{"path", "string", `the path, e.g. "/users/42"`}},
			Example: `local p = gw.request.get_path()`,
			Fn:      func(s *State, L *lua.LState) int { pushBytes(L, s.C.Path()); return 1 }},
		&Binding{Name: "set_path", Phases: Request, Doc: "Sets the path sent upstream (decoded form; it is percent-encoded when sent). " +
			"The route's strip_prefix and rewrite no longer apply.",
			Params:  []Param{{"path", "string", `new path, starting with "/"`}},
			Example: `gw.request.set_path("/v2" .. gw.request.get_path())`,
			Fn: func(s *State, L *lua.LState) int {
				p := L.CheckString(1)
				if p == "" || p[0] != '/' {
					L.ArgError(1, `path must start with "/"`)
				}
				s.buf = append(s.buf[:0], p...)
				s.C.SetPath(s.buf)
				return 0
			}},
		&Binding{Name: "get_query_arg", Phases: All, Doc: "Returns the first value of a query argument, or nil.",
			Params:  []Param{{"name", "string", "argument name"}},
			Returns: []Param{{"value", "string?", "the decoded value, nil when absent"}},
			Example: `local page = tonumber(gw.request.get_query_arg("page") or "1")`,
			Fn: func(s *State, L *lua.LState) int {
				args := s.C.Request.URI().QueryArgs()
				name := L.CheckString(1)
				return pushOpt(L, args.Peek(name), args.Has(name))
			}},
		&Binding{Name: "get_query", Phases: All, Doc: "Returns every query argument sent upstream (set_query_arg changes included) " +
			"in a table keyed by name (case-sensitive); a repeated argument maps to a list of its values, " +
			"an argument without a value (\"?debug\") to \"\".",
			Returns: []Param{{"args", "table<string, string|string[]>", "the decoded arguments"}},
			Example: `local q = gw.request.get_query()  -- ?tag=a&tag=b&page=2: { tag = { "a", "b" }, page = "2" }`,
			Fn: func(s *State, L *lua.LState) int {
				return s.pushPairs(L, s.C.Request.URI().QueryArgs(), false)
			}},
		&Binding{Name: "get_raw_query", Phases: All, Doc: "Returns the query string as the client sent it, without the \"?\" and " +
			"still percent-encoded, whatever set_query_arg changed since (\"\" when there is none).",
			Returns: []Param{{"query", "string", `e.g. "page=2&tag=a%20b"`}},
			Example: `gw.log.info("query", gw.request.get_raw_query())`,
			Fn: func(s *State, L *lua.LState) int {
				pushBytes(L, s.C.Request.URI().QueryString())
				return 1
			}},
		&Binding{Name: "set_query_arg", Phases: Request, Doc: "Sets a query argument sent upstream, replacing its values; nil removes it.",
			Params:  []Param{{"name", "string", "argument name"}, {"value", "string?", "new value, or nil to remove"}},
			Example: `gw.request.set_query_arg("api_key", nil)`,
			Fn: func(s *State, L *lua.LState) int {
				name := L.CheckString(1)
				args := s.C.Request.URI().QueryArgs()
				if L.Get(2) == lua.LNil {
					args.Del(name)
				} else {
					args.Set(name, L.CheckString(2))
				}
				return 0
			}},
		&Binding{Name: "get_original_header", Phases: All, Doc: "Returns the first value of a header of the client's request " +
			"as it reached the chain, whatever steps changed since (set_header, clear_header, Go plugins), or nil. " +
			"The gateway has already removed hop-by-hop headers and forged identity headers (X-Consumer-*) then. " +
			"A chain copies the client's headers only when one of its scripts names this function or get_original_headers " +
			"(in its own code or in a module it requires when it loads); elsewhere the call raises an error.",
			Params:  []Param{headerNameParam},
			Returns: []Param{{"value", "string?", "the value, nil when the client did not send it"}},
			Example: `if gw.request.get_original_header("X-Debug") then gw.log.info("debug requested") end`,
			Fn: func(s *State, L *lua.LState) int {
				name := checkHeaderName(L, 1)
				return pushHeader(L, s.originalHeaders(L, "get_original_header"), name)
			}},
		&Binding{Name: "get_original_headers", Phases: All, Doc: "Returns every header of the client's request as it reached the chain " +
			"(see get_original_header) in a table keyed by lower-case name; a repeated header maps to a list of its values.",
			Returns: []Param{{"headers", "table<string, string|string[]>", "the client's headers"}},
			Example: `local sent = gw.request.get_original_headers()`,
			Fn: func(s *State, L *lua.LState) int {
				return s.pushHeaders(L, s.originalHeaders(L, "get_original_headers"))
			}},
		&Binding{Name: "get_body", Phases: Request | Response, Doc: "Returns the request body (\"\" when there is none); " +
			"nil and a message when the body is larger than server.buffer_body_size and streams to the upstream.",
			Returns: []Param{{"body", "string?", "the body"}, {"err", "string?", "why there is no body"}},
			Example: `local data = gw.json.decode(gw.request.get_body())`,
			Fn: func(s *State, L *lua.LState) int {
				body, streamed := s.C.RequestBody()
				if streamed {
					L.Push(lua.LNil)
					L.Push(lua.LString("the body is larger than server.buffer_body_size: it streams to the upstream"))
					return 2
				}
				pushBytes(L, body)
				return 1
			}},
		&Binding{Name: "set_body", Phases: Request, Doc: "Replaces the request body sent upstream; Content-Length follows.",
			Params:  []Param{{"body", "string", "new body"}},
			Example: `gw.request.set_body(gw.json.encode({ wrapped = true }))`,
			Fn: func(s *State, L *lua.LState) int {
				s.C.Request.SetBodyString(L.CheckString(1))
				return 0
			}},
		&Binding{Name: "get_client_ip", Phases: All, Doc: "Returns the client's address: the peer's, or, when the peer is a " +
			"trusted proxy (server.trusted_proxies), the rightmost untrusted X-Forwarded-For address.",
			Returns: []Param{{"ip", "string", `e.g. "203.0.113.7"`}},
			Example: `local ip = gw.request.get_client_ip()`,
			Fn: func(s *State, L *lua.LState) int {
				ip := s.C.ClientIP()
				if !ip.IsValid() {
					L.Push(lua.LString(""))
					return 1
				}
				L.Push(lua.LString(ip.String()))
				return 1
			}},
		&Binding{Name: "get_host", Phases: All, Doc: "Returns the Host header the client sent, as sent (with its port, if any).",
			Returns: []Param{{"host", "string", `e.g. "api.example.com"`}},
			Example: `local host = gw.request.get_host()`,
			Fn:      func(s *State, L *lua.LState) int { pushBytes(L, s.C.Host()); return 1 }},
		&Binding{Name: "get_port", Phases: All, Doc: "Returns the port of the gateway's listener the request came in on " +
			"(0 in `moongate script run` and gwtest, which have no listener).",
			Returns: []Param{{"port", "integer", "e.g. 8080"}},
			Example: `if gw.request.get_port() == 8443 then gw.request.set_header("X-Internal", "1") end`,
			Fn:      func(s *State, L *lua.LState) int { L.Push(lua.LNumber(s.C.LocalPort())); return 1 }},
		&Binding{Name: "get_scheme", Phases: All, Doc: `Returns "https" for requests that came over TLS, else "http".`,
			Returns: []Param{{"scheme", "string", `"http" or "https"`}},
			Example: `if gw.request.get_scheme() ~= "https" then return gw.response.exit(403, "https only") end`,
			Fn:      func(s *State, L *lua.LState) int { L.Push(lua.LString(s.C.Scheme())); return 1 }},
		&Binding{Name: "get_path_param", Phases: All, Doc: `Returns a parameter of the route's path pattern ("/users/{id}"), or nil.`,
			Params:  []Param{{"name", "string", "parameter name, without braces"}},
			Returns: []Param{{"value", "string?", "the value, nil when the pattern has no such parameter"}},
			Example: `local id = gw.request.get_path_param("id")`,
			Fn: func(s *State, L *lua.LState) int {
				v, ok := s.C.Params.Lookup(L.CheckString(1))
				return pushOpt(L, v, ok)
			}},
		&Binding{Name: "get_id", Phases: All,
			Doc:     "Returns the request's ID (set by the request-id step), or nil.",
			Returns: []Param{{"id", "string?", "the ID"}},
			Example: `gw.log.info("handling", gw.request.get_id())`,
			Fn: func(s *State, L *lua.LState) int {
				id := s.C.RequestID()
				return pushOpt(L, id, len(id) > 0)
			}},
		requestHeaders.get(), requestHeaders.getAll(),
		requestHeaders.setter(plugin.HeaderSet), requestHeaders.setter(plugin.HeaderAdd), requestHeaders.setter(plugin.HeaderDel),
	)
}

// requestHeaders are the header functions of gw.request.
var requestHeaders = headerFunctions{
	read: All, write: Request,
	headers: func(s *State) headerList { return &s.C.Request.Header },
	change: func(s *State, op plugin.HeaderOp, name, value string) {
		changeHeader(&s.C.Request.Header, op, name, value)
	},
	getDoc: "Returns the first value of a request header, or nil when the request does not carry it " +
		"(\"\" for a header sent with an empty value; Content-Type, User-Agent, Cookie and Host sent empty read as nil).",
	getAllDoc: "Returns every request header in a table keyed by lower-case name; " +
		"a repeated header maps to a list of its values.",
	setDoc:   "Sets a request header sent upstream, replacing its values.",
	addDoc:   "Adds a value to a request header sent upstream, keeping its other values.",
	clearDoc: "Removes a request header before it is sent upstream.",
	examples: [5]string{
		`local tenant = gw.request.get_header("X-Tenant")`,
		`for name, value in pairs(gw.request.get_headers()) do gw.log.debug(name) end`,
		`gw.request.set_header("X-Tenant", "acme")`,
		`gw.request.add_header("Via", "moongate")`,
		`gw.request.clear_header("Cookie")`,
	},
}

// OriginalHeaderFunctions are the functions that read the client's
// original headers: a script that names one makes its chain keep them
// (plugin.OriginalHeadersUser).
var OriginalHeaderFunctions = []string{"get_original_header", "get_original_headers"}

// originalHeaders returns the client's headers as they reached the
// chain, and raises an error naming fn when the chain did not keep them.
func (s *State) originalHeaders(L *lua.LState, fn string) *fasthttp.RequestHeader {
	h := s.C.OriginalHeaders()
	if h == nil {
		L.RaiseError("gw.request.%s: the client's original headers were not kept for this route: "+
			"call gw.request.%s by its name in the script, or in a module it requires at load time", fn, fn)
	}
	return h
}
