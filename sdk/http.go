package sdk

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// defaultHTTPTimeout bounds gw.http calls made without a deadline (tests,
// load time).
const defaultHTTPTimeout = 10 * time.Second

// HTTPClient returns the client gw.http uses under the default policy
// (DefaultHTTPPolicy): one per process, keeping a pool of keep-alive
// connections per host.
func HTTPClient() *fasthttp.Client { return defaultPolicy().client() }

var defaultPolicy = sync.OnceValue(DefaultHTTPPolicy)

func init() {
	addNamespace(&Namespace{Name: "http", Doc: "Calls to other HTTP services (authorization, enrichment), over a shared pool of " +
		"keep-alive connections. A call blocks the script until the step's deadline at most (lua.timeout, default 1s, " +
		"or the step's timeout): give the step a timeout that covers it."},
		&Binding{Name: "request", Phases: Request | Response | Log, Doc: "Sends an HTTP request and returns the response. The call ends at the " +
			"earlier of its own timeout and the step's deadline. In on_log it ships what the request did to a collector " +
			"(an http-log): the log phase runs after the response is written, on a few workers shared by every request, " +
			"so a slow collector delays the other log steps and, once their queue is full, their log phases are dropped " +
			"and counted; batch, and keep its timeout short. Failures (connection refused, timeout, bad URL) " +
			"return nil and a message; any status, 5xx included, is a response. A connection to the admin API, or to an " +
			"address lua.http_deny covers (by default link-local and cloud metadata addresses such as 169.254.169.254), is " +
			"refused the same way: the check is made on the address the host name resolves to, when connecting.",
			Params: []Param{{"opts", "{method: string?, url: string, headers: table<string,string>?, body: string?, timeout: number?}",
				`url ("http://" or "https://"); method (default "GET", or "POST" with a body); headers; body; timeout in seconds (default: until the step's deadline)`}},
			Returns: []Param{{"res", "{status: integer, headers: table<string,string|string[]>, body: string}?", "the response: status, headers keyed by lower-case name, body"},
				{"err", "string?", "why there is no response"}},
			Example: `local res, err = gw.http.request{ url = conf.auth_url, headers = { Authorization = token }, timeout = 0.5 }
if not res then return gw.response.exit(503, { error = "auth unavailable" }) end`,
			Fn: (*State).httpRequest},
	)
}

func (s *State) httpRequest(L *lua.LState) int {
	opts := s.real(L.CheckTable(1))
	field := func(name string) lua.LValue { return opts.RawGetString(name) }
	str := func(name string) (string, bool) {
		switch v := field(name).(type) {
		case *lua.LNilType:
			return "", false
		case lua.LString:
			return string(v), true
		default:
			L.ArgError(1, name+" must be a string, got "+v.Type().String())
		}
		return "", false
	}
	url, ok := str("url")
	if !ok {
		L.ArgError(1, "url is required")
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		L.ArgError(1, `url must start with "http://" or "https://"`)
	}
	body, hasBody := str("body")
	method, ok := str("method")
	if !ok {
		method = "GET"
		if hasBody {
			method = "POST"
		}
	}
	deadline := s.Deadline
	now := time.Now()
	if deadline.IsZero() {
		deadline = now.Add(defaultHTTPTimeout)
	}
	switch t := field("timeout").(type) {
	case *lua.LNilType:
	case lua.LNumber:
		if t <= 0 {
			L.ArgError(1, "timeout must be more than 0 seconds")
		}
		if d := now.Add(time.Duration(float64(t) * float64(time.Second))); d.Before(deadline) {
			deadline = d
		}
	default:
		L.ArgError(1, "timeout must be a number of seconds")
	}

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(method)
	if h, ok := field("headers").(*lua.LTable); ok {
		h = s.real(h)
		if why := headerTableProblem(h); why != "" {
			L.ArgError(1, why)
		}
		h.ForEach(func(k, v lua.LValue) { req.Header.Set(string(k.(lua.LString)), string(v.(lua.LString))) })
	} else if field("headers") != lua.LNil {
		L.ArgError(1, "headers must be a table")
	}
	if hasBody {
		req.SetBodyString(body)
	}
	client := s.client
	if !time.Now().Before(deadline) {
		L.Push(lua.LNil)
		L.Push(lua.LString("gw.http: the step's deadline has passed"))
		return 2
	}
	if err := client.DoDeadline(req, resp, deadline); err != nil {
		var refused *RefusedError
		if errors.As(err, &refused) {
			// Host and port only: a path or query may hold a secret.
			where := method + " " + string(req.URI().Host())
			s.logRefused(where, refused)
			L.Push(lua.LNil)
			L.Push(lua.LString("gw.http: " + where + ": " + refused.Error()))
			return 2
		}
		msg := err.Error()
		if errors.Is(err, fasthttp.ErrTimeout) {
			msg = "timed out"
		}
		L.Push(lua.LNil)
		L.Push(lua.LString("gw.http: " + method + " " + url + ": " + msg))
		return 2
	}
	if len(resp.Body()) > s.opts.MaxString {
		L.Push(lua.LNil)
		L.Push(lua.LString("gw.http: response body exceeds max_string_size"))
		return 2
	}
	s.opts.Budget.Charge(L, TableCost+len(resp.Body()))
	t := L.CreateTable(0, 3)
	t.RawSetString("status", lua.LNumber(resp.StatusCode()))
	s.pushHeaders(L, &resp.Header)
	t.RawSetString("headers", L.Get(-1))
	L.Pop(1)
	t.RawSetString("body", lua.LString(resp.Body()))
	L.Push(t)
	return 1
}

// logRefused logs a call the policy refused, without its path or query.
func (s *State) logRefused(where string, e *RefusedError) {
	attrs := []slog.Attr{slog.String("script", s.opts.Script), slog.String("call", where),
		slog.String("address", e.Addr.String()), slog.String("reason", e.Reason)}
	if s.C != nil {
		s.C.LogAttrs(slog.LevelWarn, "gw.http call refused", attrs...)
		return
	}
	s.logger().LogAttrs(context.Background(), slog.LevelWarn, "gw.http call refused", attrs...)
}
