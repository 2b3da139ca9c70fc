package sdk

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func init() {
	addNamespace(&Namespace{Name: "json", Doc: "JSON with explicit null and empty arrays. Decoding turns null into gw.json.null " +
		"(so keys holding null are kept) and marks arrays so that they encode back as arrays, even empty.\n\n" +
		"Encoding never drops a key. A table is written as an array when it is a non-empty sequence (keys exactly 1..n), " +
		"or when it is marked (decoded from an array, or gw.json.array) and all its keys are positive integers: " +
		"then as long as its largest key, holes written as null. Any other table is an object with sorted keys, " +
		"number keys written as strings: `a = gw.json.decode('[1,2,3]'); a.via = \"x\"` encodes as " +
		"`{\"1\":1,\"2\":2,\"3\":3,\"via\":\"x\"}` (lua-cjson, as used by OpenResty and Kong, writes a marked table " +
		"by its length and drops `via`). An empty unmarked table is {}.\n\n" +
		"Numbers: Lua numbers are doubles. Integers are exact up to 2^53 (9007199254740992); a larger JSON integer " +
		"decodes to the nearest double (9007199254740993 becomes 9007199254740992), so keep large IDs in strings. " +
		"Encoding writes the shortest decimal that reads back as the same double, as JavaScript's JSON.stringify does: " +
		"integers below 1e21 in plain digits, 0.1 as 0.1, very large or small values with an exponent (1e+21, 2.5e-8). " +
		"NaN and infinities (0/0, 1/0) cannot be encoded (an error; note that gopher-lua's math.huge is the largest double, " +
		"not infinity); a JSON number beyond the double range (1e400) fails decoding.",
		Fields: []Param{{"null", "lightuserdata", "the JSON null value: encodes as null, and stands for null in decoded data"}},
		Init: func(s *State, L *lua.LState, t *lua.LTable) {
			t.RawSetString("null", s.null)
		}},
		&Binding{Name: "encode", Doc: "Encodes a value as JSON (tables as arrays or objects by the rule above; no key is dropped). " +
			"Raises an error for functions, cycles, NaN or infinities, table keys that are neither strings nor numbers, " +
			"a table with two keys written as the same name (1 and \"1\"), or a result over max_string_size.",
			Params:  []Param{{"value", "any", "table, string, number, boolean, nil or gw.json.null"}},
			Returns: []Param{{"json", "string", "the JSON text"}},
			Example: `local body = gw.json.encode({ ok = true, items = gw.json.array() })  -- {"items":[],"ok":true}`,
			Fn: func(s *State, L *lua.LState) int {
				b, err := s.encodeJSON(s.buf[:0], L.CheckAny(1))
				if err != nil {
					L.ArgError(1, err.Error())
				}
				s.buf = b[:0]
				s.opts.Budget.Check(L, len(b))
				L.Push(lua.LString(b))
				return 1
			}},
		&Binding{Name: "decode", Doc: "Decodes JSON text. Arrays come back marked, null as gw.json.null, numbers as doubles (see above).",
			Params:  []Param{{"json", "string", "JSON text"}},
			Returns: []Param{{"value", "any", "the value, nil on error"}, {"err", "string?", "why decoding failed"}},
			Example: `local data, err = gw.json.decode(gw.request.get_body())
if not data then return gw.response.exit(400, { error = err }) end`,
			Fn: func(s *State, L *lua.LState) int {
				text := L.CheckString(1)
				// Charged before decoding: the tree is built at once.
				s.opts.Budget.Charge(L, jsonCost(text))
				d := json.NewDecoder(strings.NewReader(text))
				d.UseNumber()
				var v any
				err := d.Decode(&v)
				if err == nil {
					if _, e := d.Token(); e != io.EOF {
						err = errors.New("unexpected data after the JSON value")
					}
				}
				if err != nil {
					L.Push(lua.LNil)
					L.Push(lua.LString("invalid JSON: " + err.Error()))
					return 2
				}
				s.badNumber = ""
				lv := s.fromJSON(L, v)
				if s.badNumber != "" {
					L.Push(lua.LNil)
					L.Push(lua.LString("invalid JSON: number " + s.badNumber + " out of range: Lua numbers reach about ±1.8e308"))
					s.badNumber = ""
					return 2
				}
				L.Push(lv)
				return 1
			}},
		&Binding{Name: "array", Doc: "Marks a table (a new empty one when omitted) as a JSON array and returns it.",
			Params:  []Param{{"t", "table?", "the table to mark"}},
			Returns: []Param{{"t", "table", "the same table"}},
			Example: `local tags = gw.json.array()  -- encodes as [] even when empty`,
			Fn: func(s *State, L *lua.LState) int {
				t := L.OptTable(1, nil)
				if t == nil {
					t = L.NewTable()
				}
				s.opts.Views.Check(L, t)
				if mt, ok := t.Metatable.(*lua.LTable); ok && mt != s.arrayMeta && mt.RawGetString("__metatable") != lua.LNil {
					L.ArgError(1, "cannot change a protected metatable")
				}
				L.SetMetatable(t, s.arrayMeta)
				L.Push(t)
				return 1
			}},
	)
}

// fromJSON converts what encoding/json decoded (with UseNumber) to Lua.
func (s *State) fromJSON(L *lua.LState, v any) lua.LValue { return s.toLua(L, v, true) }

// jsonCost estimates, from the text alone and without allocating, the
// memory decoding it builds: encoding/json's tree and the Lua values
// made from it (measured on amd64: from 3 bytes per byte for long
// strings to about 150 for [{"a":{}},...]). Every byte counts, and more
// for each array, object, element and member, so that small values in
// large numbers are not undercounted.
func jsonCost(text string) int {
	n := 1024 + 3*len(text) + len(text)/8
	inString, firstMember := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[':
			n += jsonArrayCost
		case '{':
			n += jsonObjectCost
			firstMember = true
		case ',':
			n += jsonElementCost
		case ':':
			n += jsonMemberCost
			if firstMember {
				// An object's first member makes its maps.
				n += jsonMapCost
				firstMember = false
			}
		}
	}
	return n
}

const (
	jsonArrayCost   = 128
	jsonObjectCost  = 160
	jsonMapCost     = 640
	jsonElementCost = 128
	jsonMemberCost  = 352
)
