package sdk

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	lua "github.com/yuin/gopher-lua"
)

// headerSource is what request and response headers have in common.
type headerSource interface {
	VisitAll(f func(key, value []byte))
}

// pushHeaders pushes a table of every header: lower-case name to value,
// or to a list of values when the header is repeated. The table is
// charged to the call's memory budget.
func (s *State) pushHeaders(L *lua.LState, h headerSource) int {
	t := L.NewTable()
	var lower []byte
	s.opts.Budget.Charge(L, TableCost)
	h.VisitAll(func(k, v []byte) {
		s.opts.Budget.Charge(L, EntryCost+2*len(k)+len(v))
		lower = asciiLower(append(lower[:0], k...))
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
	if !config.IsToken(name) {
		return "invalid character in header name " + strconv.Quote(name)
	}
	return ""
}

// headerTableProblem checks a Lua table of header names to string values
// and returns the first problem, or "".
func headerTableProblem(t *lua.LTable) string {
	why := ""
	t.ForEach(func(k, v lua.LValue) {
		if why != "" {
			return
		}
		ks, ok1 := k.(lua.LString)
		vs, ok2 := v.(lua.LString)
		switch {
		case !ok1 || !ok2:
			why = "headers must map names to string values"
		case headerNameProblem(string(ks)) != "":
			why = headerNameProblem(string(ks))
		case headerValueProblem(string(vs)) != "":
			why = "header " + string(ks) + ": " + headerValueProblem(string(vs))
		}
	})
	return why
}

func headerValueProblem(v string) string {
	if strings.ContainsAny(v, "\r\n\x00") {
		return "header value must not contain CR, LF or NUL"
	}
	return ""
}

var headerNameParam = Param{"name", "string", "header name, case-insensitive"}

// asciiLower lower-cases b in place when it is ASCII (header names are),
// and like bytes.ToLower, into a new slice, otherwise.
func asciiLower(b []byte) []byte {
	for i, c := range b {
		switch {
		case c >= 0x80:
			return bytes.ToLower(b)
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}
