package sdk_test

import (
	"testing"

	"github.com/moongate/moongate/core/plugin"
)

// TestJSONEncodeKeepsEveryKey: a table with a key that is not a
// positive integer encodes as an object, marked as an array or not, so
// no key is lost; a marked array keeps its holes as null.
func TestJSONEncodeKeepsEveryKey(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ src, want string }{
		{`local a = gw.json.decode('[1,2,3]'); a.via = "x"; return a`, `{"1":1,"2":2,"3":3,"via":"x"}`},
		{`local a = gw.json.array({ "a" }); a.n = 1; return a`, `{"1":"a","n":1}`},
		{`local a = gw.json.decode('[1,2,3]'); a[2] = nil; return a`, `[1,null,3]`},
		{`local a = gw.json.decode('[1,2,3]'); a[5] = 5; return a`, `[1,2,3,null,5]`},
		{`local a = gw.json.decode('[1,2,3]'); a[1.5] = 5; return a`, `{"1":1,"1.5":5,"2":2,"3":3}`},
		{`local a = gw.json.decode('[1,2]'); a[3] = 3; return a`, `[1,2,3]`},
		{`local a = gw.json.decode('[1,2,3]'); a[3] = nil; return a`, `[1,2]`},
		{`return { 1, 2, x = 1 }`, `{"1":1,"2":2,"x":1}`},
		{`return { [0] = "z", "a" }`, `{"0":"z","1":"a"}`},
		{`return { [1.5] = "h" }`, `{"1.5":"h"}`},
		{`return gw.json.array()`, `[]`},
		{`return { 1, 2 }`, `[1,2]`},
		{`return { a = { 3 } }`, `{"a":[3]}`},
	} {
		var got string
		err := e.do(plugin.PhaseRequest, `RESULT = gw.json.encode((function() `+tc.src+` end)())`, func(*plugin.Context) {
			got = e.L.GetGlobal("RESULT").String()
		})
		if err != "" {
			t.Errorf("%s: %s", tc.src, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.src, got, tc.want)
		}
	}
	// gw.ctx keeps every key too.
	if err := e.do(plugin.PhaseRequest, `
local a = gw.json.decode('[1,2]')
a.via = "x"
gw.ctx.set("k", a)
local b = gw.ctx.get("k")
assert(b.via == "x" and b["1"] == 1, gw.json.encode(b))
`); err != "" {
		t.Error(err)
	}
}

// TestJSONNumbers pins the documented number behaviour: Lua numbers are
// doubles, exact for integers up to 2^53.
func TestJSONNumbers(t *testing.T) {
	e := newEnv(t)
	if err := e.do(plugin.PhaseRequest, `
local j = gw.json
assert(j.encode(9007199254740992) == "9007199254740992", j.encode(9007199254740992))
assert(j.decode("9007199254740993") == 9007199254740992)  -- 2^53 + 1 is not a double
assert(j.encode(j.decode("9007199254740993")) == "9007199254740992")
assert(j.encode(1e20) == "100000000000000000000", j.encode(1e20))
assert(j.encode(1e21) == "1e+21", j.encode(1e21))
assert(j.encode(-42) == "-42")
assert(j.encode(0.1) == "0.1")
assert(j.encode(1/3) == "0.3333333333333333", j.encode(1/3))
assert(j.encode(2.5e-8) == "2.5e-8", j.encode(2.5e-8))
assert(not pcall(j.encode, 0/0))
assert(not pcall(j.encode, 1/0) and not pcall(j.encode, -1/0))
local v, err = j.decode("1e400")
assert(v == nil and err:find("out of range"), tostring(err))
`); err != "" {
		t.Fatal(err)
	}
}
