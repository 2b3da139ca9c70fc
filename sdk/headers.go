package sdk

import (
	"bytes"
	"strconv"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	lua "github.com/yuin/gopher-lua"
)

// headerFunctions builds get_header, get_headers, set_header,
// add_header and clear_header for one side of the exchange: gw.request
// and gw.response have the same functions, with the same parameters and
// checks, and differ only in their phases, their docs and examples, and
// the headers they act on.
type headerFunctions struct {
	read, write Phases // of the getters, of the setters
	// headers returns the headers the getters read.
	headers func(s *State) headerList
	// change makes a change asked for by a setter.
	change func(s *State, op plugin.HeaderOp, name, value string)
	// The functions' docs, and their examples in the order above.
	getDoc, getAllDoc, setDoc, addDoc, clearDoc string
	examples                                    [5]string
}

// headerList is what request and response headers have in common for
// the getters.
type headerList interface {
	pairSource
	headerValues
}

func (h *headerFunctions) get() *Binding {
	return &Binding{Name: "get_header", Phases: h.read, Doc: h.getDoc,
		Params:  []Param{headerNameParam},
		Returns: []Param{{"value", "string?", "the value, nil when absent"}},
		Example: h.examples[0],
		Fn: func(s *State, L *lua.LState) int {
			return pushHeader(L, h.headers(s), checkHeaderName(L, 1))
		}}
}

func (h *headerFunctions) getAll() *Binding {
	return &Binding{Name: "get_headers", Phases: h.read, Doc: h.getAllDoc,
		Returns: []Param{{"headers", "table<string, string|string[]>", "the headers"}},
		Example: h.examples[1],
		Fn:      func(s *State, L *lua.LState) int { return s.pushHeaders(L, h.headers(s)) }}
}

// setter returns set_header (op HeaderSet), add_header (HeaderAdd) or
// clear_header (HeaderDel).
func (h *headerFunctions) setter(op plugin.HeaderOp) *Binding {
	b := &Binding{Phases: h.write, Params: []Param{headerNameParam},
		Fn: func(s *State, L *lua.LState) int {
			name, value := checkHeaderName(L, 1), ""
			if op != plugin.HeaderDel {
				value = checkHeaderValue(L, 2)
			}
			h.change(s, op, name, value)
			return 0
		}}
	switch op {
	case plugin.HeaderSet:
		b.Name, b.Doc, b.Example = "set_header", h.setDoc, h.examples[2]
		b.Params = append(b.Params, Param{"value", "string", "new value (no CR or LF)"})
	case plugin.HeaderAdd:
		b.Name, b.Doc, b.Example = "add_header", h.addDoc, h.examples[3]
		b.Params = append(b.Params, Param{"value", "string", "value to add (no CR or LF)"})
	default:
		b.Name, b.Doc, b.Example = "clear_header", h.clearDoc, h.examples[4]
	}
	return b
}

// headerWriter is what request and response headers have in common for
// the setters.
type headerWriter interface {
	Set(name, value string)
	Add(name, value string)
	Del(name string)
}

// changeHeader makes a change of a header on h.
func changeHeader(h headerWriter, op plugin.HeaderOp, name, value string) {
	switch op {
	case plugin.HeaderSet:
		h.Set(name, value)
	case plugin.HeaderAdd:
		h.Add(name, value)
	case plugin.HeaderDel:
		h.Del(name)
	}
}

// pairSource is what request and response headers, and query
// arguments, have in common.
type pairSource interface {
	VisitAll(f func(key, value []byte))
}

// pushHeaders pushes a table of every header: lower-case name to value,
// or to a list of values when the header is repeated. The table is
// charged to the call's memory budget.
func (s *State) pushHeaders(L *lua.LState, h pairSource) int { return s.pushPairs(L, h, true) }

// pushPairs pushes a table of every pair of src: name (lower-cased when
// lower is set) to value, or to a list of values when the name repeats.
// The table is charged to the call's memory budget.
func (s *State) pushPairs(L *lua.LState, src pairSource, lower bool) int {
	t := L.NewTable()
	var name []byte
	s.opts.Budget.Charge(L, TableCost)
	src.VisitAll(func(k, v []byte) {
		s.opts.Budget.Charge(L, EntryCost+2*len(k)+len(v))
		name = append(name[:0], k...)
		if lower {
			name = asciiLower(name)
		}
		key := string(name)
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

// headerValues is what request and response headers have in common for
// reading one header.
type headerValues interface {
	PeekAll(key string) [][]byte
}

// pushHeader pushes the first value of header name, or nil when h does
// not carry it. fasthttp's Peek cannot tell: it keeps Content-Type,
// User-Agent, Content-Encoding, Server and a few others as fields that,
// once a reused request or response carried them, read as "" instead of
// nil when absent. PeekAll lists only the values present (an empty
// value of an ordinary header is "", present; fasthttp does not keep
// the special ones when empty).
func pushHeader(L *lua.LState, h headerValues, name string) int {
	vs := h.PeekAll(name)
	if len(vs) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	pushBytes(L, vs[0])
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
	// A loop: strings.ContainsAny costs ~30 ns on a one-byte value.
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return "header value must not contain CR, LF or NUL"
		}
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
