package sdk

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestJSONCostCoversAllocation: what gw.json.decode charges to the
// call's memory budget before decoding is at least what decoding
// allocates (encoding/json's tree and the Lua values), for the shapes
// that allocate the most per byte of text.
func TestJSONCostCoversAllocation(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 100 MB")
	}
	keys := func(format string) string {
		var b strings.Builder
		for i := 0; i < 20000; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	inputs := []struct{ name, text string }{
		{"numbers", "[" + strings.Repeat("0,", 50000) + "0]"},
		{"empty arrays", "[" + strings.Repeat("[],", 50000) + "[]]"},
		{"empty objects", "[" + strings.Repeat("{},", 50000) + "{}]"},
		{"empty strings", "[" + strings.Repeat(`"",`, 50000) + `""]`},
		{"one-member objects", "[" + strings.Repeat(`{"a":{}},`, 20000) + "{}]"},
		{"many members", "{" + keys(`"%d":0,`) + `"x":0}`},
		{"many members of arrays", "{" + keys(`"%x":[],`) + `"x":0}`},
		{"records", "[" + strings.Repeat(`{"id":12345,"name":"some user name","email":"someone@example.com",`+
			`"active":true,"tags":["a","b"],"score":12.5,"addr":{"city":"Paris","zip":"75001"}},`, 2000) + "{}]"},
		{"long string", `["` + strings.Repeat("a", 500000) + `"]`},
		{"small object", `{"user":"bob","password":"hunter2","card":{"number":"4111"}}`},
	}
	L := lua.NewState()
	defer L.Close()
	s := Open(L, Options{})
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			d := json.NewDecoder(strings.NewReader(in.text))
			d.UseNumber()
			var v any
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
			lv := s.fromJSON(L, v)
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(lv)
			allocated := after.TotalAlloc - before.TotalAlloc
			if cost := jsonCost(in.text); uint64(cost) < allocated {
				t.Errorf("%d bytes of JSON: charged %d, allocated %d", len(in.text), cost, allocated)
			}
		})
	}
}
