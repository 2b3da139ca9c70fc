package sdk

import (
	"bytes"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// headerSource is what request and response headers have in common.
type headerSource interface {
	VisitAll(f func(key, value []byte))
}

// pushHeaders pushes a table of every header: lower-case name to value,
// or to a list of values when the header is repeated.
func pushHeaders(L *lua.LState, h headerSource) int {
	t := L.NewTable()
	var lower []byte
	h.VisitAll(func(k, v []byte) {
		lower = append(lower[:0], k...)
		lower = bytes.ToLower(lower)
		key := string(lower)
		val := lua.LString(v)
		switch old := t.RawGetString(key).(type) {
		case *lua.LNilType:
			t.RawSetString(key, val)
		case *lua.LTable:
			old.Append(val)
		default:
			list := L.NewTable()
			list.Append(old)
			list.Append(val)
			t.RawSetString(key, list)
		}
	})
	L.Push(t)
	return 1
}

// checkHeaderName raises unless argument n is a valid header name.
func checkHeaderName(L *lua.LState, n int) string {
	name := L.CheckString(n)
	if why := headerNameProblem(name); why != "" {
		L.ArgError(n, why)
	}
	return name
}

// checkHeaderValue raises unless argument n is a string or number
// without CR, LF or NUL (which would split the header).
func checkHeaderValue(L *lua.LState, n int) string {
	v := L.CheckString(n)
	if why := headerValueProblem(v); why != "" {
		L.ArgError(n, why)
	}
	return v
}

func headerNameProblem(name string) string {
	if name == "" {
		return "header name must not be empty"
	}
	for i := 0; i < len(name); i++ {
		if !tokenChar[name[i]] {
			return "invalid character in header name " + strconv.Quote(name)
		}
	}
	return ""
}

// tokenChar tells the characters allowed in a header name (RFC 9110 token).
var tokenChar = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune("()<>@,;:\\\"/[]?={}", c)
	}
	return t
}()

func headerValueProblem(v string) string {
	if strings.ContainsAny(v, "\r\n\x00") {
		return "header value must not contain CR, LF or NUL"
	}
	return ""
}

var headerNameParam = Param{"name", "string", "header name, case-insensitive"}
