package sdk

import (
	"github.com/moongate/moongate/core/plugin"
	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "response", Doc: "The response: in on_request, exit answers the request without calling the upstream; " +
		"in on_response, the upstream's response (or one a step produced) before it is written to the client; " +
		"in on_log, its status and headers as sent."},
		&Binding{Name: "exit", Phases: Request | Response, Doc: "Ends the running function (like return) with this response. " +
			"In on_request the remaining request steps and the upstream are skipped; the response phase still runs. " +
			"In on_response it replaces the response. A table body is sent as JSON.",
			Params: []Param{{"status", "integer", "HTTP status, 100 to 599"},
				{"body", "string|table|nil", "body; a table is encoded with gw.json.encode and sent as application/json"},
				{"headers", "table<string,string>?", "response headers to set"}},
			Example: `return gw.response.exit(401, { error = "missing API key" }, { ["WWW-Authenticate"] = "ApiKey" })`,
			Fn:      (*State).exitResponse},
		&Binding{Name: "get_status", Phases: Response | Log, Doc: "Returns the response status.",
			Returns: []Param{{"status", "integer", "e.g. 200"}},
			Example: `if gw.response.get_status() >= 500 then gw.log.warn("upstream failed") end`,
			Fn:      func(s *State, L *lua.LState) int { L.Push(lua.LNumber(s.C.Response.StatusCode())); return 1 }},
		&Binding{Name: "set_status", Phases: Response, Doc: "Sets the response status. The status line sent carries the standard reason phrase " +
			"of the new status (\"418 I'm a teapot\", never the upstream's \"418 OK\"); an unchanged status keeps the upstream's phrase.",
			Params:  []Param{{"status", "integer", "HTTP status, 100 to 599"}},
			Example: `gw.response.set_status(200)`,
			Fn: func(s *State, L *lua.LState) int {
				s.C.Response.SetStatusCode(checkStatus(L, 1))
				return 0
			}},
		&Binding{Name: "get_body", Phases: Response, Doc: "Returns the response body as received (still compressed if the upstream compressed it: check Content-Encoding). " +
			"A streamed response (server-sent events, or a body larger than the upstream's stream_threshold) is not read: " +
			"get_body returns nil and \"streamed\" at once, and the body flows to the client untouched (see is_streamed).",
			Returns: []Param{{"body", "string?", "the body, nil when it streams"}, {"err", "string?", `"streamed" when the body streams`}},
			Example: `local body, err = gw.response.get_body()
if body then gw.response.set_body((body:gsub("secret", "******"))) end`,
			Fn: func(s *State, L *lua.LState) int {
				if s.C.Response.IsBodyStream() {
					L.Push(lua.LNil)
					L.Push(lua.LString("streamed"))
					return 2
				}
				pushBytes(L, s.C.Response.Body())
				return 1
			}},
		&Binding{Name: "is_streamed", Phases: Response, Doc: "Reports whether the response body streams from the upstream to the client as it arrives " +
			"(server-sent events, newline-delimited JSON, bodies larger than the upstream's stream_threshold) instead of being held whole: " +
			"get_body cannot read such a body, set_body replaces the whole stream.",
			Returns: []Param{{"streamed", "boolean", "true when the body streams"}},
			Example: `if not gw.response.is_streamed() then gw.response.set_body(gw.response.get_body() .. "\n") end`,
			Fn: func(s *State, L *lua.LState) int {
				L.Push(lua.LBool(s.C.Response.IsBodyStream()))
				return 1
			}},
		&Binding{Name: "set_body", Phases: Response, Doc: "Replaces the response body; Content-Length follows.",
			Params:  []Param{{"body", "string", "new body"}},
			Example: `gw.response.set_body(gw.json.encode(data))`,
			Fn: func(s *State, L *lua.LState) int {
				s.C.Response.SetBodyString(L.CheckString(1))
				return 0
			}},
		responseHeaders.get(), responseHeaders.getAll(),
		responseHeaders.setter(plugin.HeaderSet), responseHeaders.setter(plugin.HeaderAdd), responseHeaders.setter(plugin.HeaderDel),
	)
}

// responseHeaders are the header functions of gw.response.
var responseHeaders = headerFunctions{
	read: Response | Log, write: Request | Response,
	headers: func(s *State) headerList { return &s.C.Response.Header },
	change:  (*State).changeResponseHeader,
	getDoc: "Returns the first value of a response header, or nil when the response does not carry it " +
		"(\"\" for a header with an empty value; Content-Type, Content-Encoding and Server when empty read as nil).",
	getAllDoc: "Returns every response header in a table keyed by lower-case name; " +
		"a repeated header maps to a list of its values.",
	setDoc: "Sets a response header, replacing its values. " +
		"In on_request it is kept and made on the response the request gets, whichever it is: " +
		"the upstream's or an error, when the response phase reaches this step (before its on_response; " +
		"the steps after it in the chain, such as a cache, do not see it, as they do not see what its on_response sets), " +
		"or a response produced with gw.response.exit, at once (headers given to exit win).",
	addDoc: "Adds a value to a response header, keeping its other values. " +
		"In on_request it applies to the response the request gets, as set_header.",
	clearDoc: "Removes a response header. " +
		"In on_request it applies to the response the request gets, as set_header.",
	examples: [5]string{
		`local ct = gw.response.get_header("Content-Type")`,
		`local h = gw.response.get_headers()`,
		`gw.response.set_header("X-Tenant", "acme")`,
		`gw.response.add_header("Vary", "X-Tenant")`,
		`gw.response.clear_header("Server")`,
	},
}

func checkStatus(L *lua.LState, n int) int {
	st := L.CheckInt(n)
	if st < 100 || st > 599 {
		L.ArgError(n, "status must be between 100 and 599")
	}
	return st
}

func (s *State) exitResponse(L *lua.LState) int {
	status := checkStatus(L, 1)
	var body []byte
	contentType := ""
	switch v := L.Get(2).(type) {
	case *lua.LNilType:
	case lua.LString:
		// The state's buffer: Respond copies the body.
		s.buf = append(s.buf[:0], v...)
		body = s.buf
	case lua.LNumber:
		s.buf = append(s.buf[:0], v.String()...)
		body = s.buf
	case *lua.LTable:
		var err error
		if body, err = s.encodeJSON(s.buf[:0], v); err != nil {
			L.ArgError(2, err.Error())
		}
		s.buf = body[:0]
		contentType = "application/json"
	default:
		L.ArgError(2, "body must be a string, a table or nil, got "+v.Type().String())
	}
	var hdrs *lua.LTable
	if h := L.Get(3); h != lua.LNil {
		hdrs = s.real(L.CheckTable(3))
		// Check every header before changing the response.
		if why := headerTableProblem(hdrs); why != "" {
			L.ArgError(3, why)
		}
	}
	s.C.Respond(status, contentType, body)
	if hdrs != nil {
		hdrs.ForEach(func(k, v lua.LValue) {
			s.C.Response.Header.Set(string(k.(lua.LString)), string(v.(lua.LString)))
		})
	}
	L.Error(s.exit, 0)
	return 0
}

// changeResponseHeader changes a response header now (response phase),
// or, in the request phase, records the change for the response the
// request will get.
func (s *State) changeResponseHeader(op plugin.HeaderOp, name, value string) {
	if s.C.Phase() == plugin.PhaseRequest {
		s.C.DeferResponseHeader(op, name, value)
		return
	}
	changeHeader(&s.C.Response.Header, op, name, value)
}
