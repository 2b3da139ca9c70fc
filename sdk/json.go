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
		"(so keys holding null are kept) and marks arrays so that they encode back as arrays, even empty. " +
		"Encoding writes a table as an array when it is marked (gw.json.array) or is a non-empty sequence, " +
		"else as an object with sorted keys; an empty unmarked table is {}.",
		Fields: []Param{{"null", "lightuserdata", "the JSON null value: encodes as null, and stands for null in decoded data"}},
		Init: func(s *State, L *lua.LState, t *lua.LTable) {
			t.RawSetString("null", s.null)
		}},
		&Binding{Name: "encode", Doc: "Encodes a value as JSON. Raises an error for functions, cycles, NaN, a result over max_string_size, or a table with two keys written as the same name (1 and \"1\").",
			Params:  []Param{{"value", "any", "table, string, number, boolean, nil or gw.json.null"}},
			Returns: []Param{{"json", "string", "the JSON text"}},
			Example: `local body = gw.json.encode({ ok = true, items = gw.json.array() })  -- {"items":[],"ok":true}`,
			Fn: func(s *State, L *lua.LState) int {
				b, err := s.encodeJSON(s.buf[:0], L.CheckAny(1))
				if err != nil {
					L.ArgError(1, err.Error())
				}
				s.buf = b[:0]
				L.Push(lua.LString(b))
				return 1
			}},
		&Binding{Name: "decode", Doc: "Decodes JSON text.",
			Params:  []Param{{"json", "string", "JSON text"}},
			Returns: []Param{{"value", "any", "the value, nil on error"}, {"err", "string?", "why decoding failed"}},
			Example: `local data, err = gw.json.decode(gw.request.get_body())
if not data then return gw.response.exit(400, { error = err }) end`,
			Fn: func(s *State, L *lua.LState) int {
				d := json.NewDecoder(strings.NewReader(L.CheckString(1)))
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
				L.Push(s.fromJSON(L, v))
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
				L.SetMetatable(t, s.arrayMeta)
				L.Push(t)
				return 1
			}},
	)
}

// fromJSON converts what encoding/json decoded (with UseNumber) to Lua.
func (s *State) fromJSON(L *lua.LState, v any) lua.LValue { return s.toLua(L, v, true) }
