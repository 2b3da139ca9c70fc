package sdk_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/moongate/moongate/sdk"
	lua "github.com/yuin/gopher-lua"
)

// jsonLua is a Lua state with gw bound, and gw.json's functions.
type jsonLua struct {
	L                     *lua.LState
	encode, decode, array lua.LValue
	null                  lua.LValue
	marker                *lua.LTable // the array marker (a metatable)
}

func newJSONLua(t testing.TB) *jsonLua {
	L := lua.NewState()
	t.Cleanup(L.Close)
	sdk.Open(L, sdk.Options{MaxString: 1 << 20})
	j := L.GetGlobal("gw").(*lua.LTable).RawGetString("json").(*lua.LTable)
	x := &jsonLua{L: L, encode: j.RawGetString("encode"), decode: j.RawGetString("decode"),
		array: j.RawGetString("array"), null: j.RawGetString("null")}
	arr, err := x.call(x.array)
	if err != nil {
		t.Fatal(err)
	}
	x.marker, _ = arr[0].(*lua.LTable).Metatable.(*lua.LTable)
	if x.marker == nil {
		t.Fatal("gw.json.array() gave no marked table")
	}
	return x
}

// call calls fn with args, in protected mode, and returns two results.
func (x *jsonLua) call(fn lua.LValue, args ...lua.LValue) ([2]lua.LValue, error) {
	top := x.L.GetTop()
	defer x.L.SetTop(top)
	if err := x.L.CallByParam(lua.P{Fn: fn, NRet: 2, Protect: true}, args...); err != nil {
		return [2]lua.LValue{}, err
	}
	return [2]lua.LValue{x.L.Get(-2), x.L.Get(-1)}, nil
}

// documented reports whether an encode error is one gw.json.encode's
// documentation announces (functions, cycles and deep nesting, NaN and
// infinities, a result over max_string_size), or a table with keys such
// as 1 and "1", which would write the same name twice.
func documented(err error) bool {
	for _, s := range []string{"nesting deeper than", "NaN or infinity", "exceeds max_string_size", "cannot encode a function",
		"are the same JSON name"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// FuzzJSONDecode decodes fuzzed text with gw.json.decode. It must never
// raise an error (it returns nil and a message); it accepts exactly what
// encoding/json calls valid; and what it accepts, gw.json.encode writes
// back as valid JSON holding the same values (compared through
// encoding/json), unless encode refuses it for a documented reason.
// Numbers beyond float64 decode to ±infinity, as in lua-cjson and
// JavaScript, which encode then refuses: that case only checks the error.
func FuzzJSONDecode(f *testing.F) {
	x := newJSONLua(f)
	for _, s := range []string{
		`{"list":[],"obj":{},"nothing":null,"num":1e3,"arr":[1,null,3]}`, `[]`, `{}`, `null`, `true`, `0`, `-0`,
		`"x"`, `1.5e-300`, `1e400`, `-1e400`, `[1e400]`, `{"a":1e400,"a":1}`, `12345678901234567890`, `9007199254740993`,
		`0.1`, `1E+2`, `-0.0`, `"\u0000\ud800\udc00\ud800"`, `"\xff\xfe"`, "\"\xed\xa0\x80\"", `{"a":1,"a":2}`,
		`{"1":"one","2":"two"}`, `[null]`, `[null,null]`, `{"":[{}]}`, ` [ 1 , 2 ] `, `1 2`, `[1,]`, `{"a"}`,
		`NaN`, `Infinity`, `01`, `.5`, `"\x01"`, `"\t"`, strings.Repeat("[", 101) + strings.Repeat("]", 101),
		strings.Repeat("[", 100) + strings.Repeat("]", 100), strings.Repeat(`{"a":`, 101) + "1" + strings.Repeat("}", 101),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 64<<10 {
			return
		}
		res, err := x.call(x.decode, lua.LString(text))
		if err != nil {
			t.Fatalf("decode(%q) raised: %v", text, err)
		}
		v, msg := res[0], res[1]
		if v == lua.LNil {
			if json.Valid([]byte(text)) {
				// Numbers beyond a double's range are refused on purpose
				// (documented); encoding/json cannot hold them either.
				var probe any
				if err := json.Unmarshal([]byte(text), &probe); err != nil && strings.Contains(msg.String(), "out of range") {
					return
				}
				t.Fatalf("decode(%q) refused valid JSON: %v", text, msg)
			}
			return
		}
		if !json.Valid([]byte(text)) {
			t.Fatalf("decode(%q) accepted invalid JSON", text)
		}
		var want any
		wantErr := json.Unmarshal([]byte(text), &want)
		var rangeErr *json.UnmarshalTypeError
		if wantErr != nil && !errors.As(wantErr, &rangeErr) {
			t.Fatalf("encoding/json: %v", wantErr)
		}
		out, err := x.call(x.encode, v)
		if err != nil {
			if !documented(err) || strings.Contains(err.Error(), "infinity") && rangeErr == nil {
				t.Fatalf("encode(decode(%q)) raised: %v", text, err)
			}
			return
		}
		enc := string(out[0].(lua.LString))
		if !json.Valid([]byte(enc)) {
			t.Fatalf("encode(decode(%q)) = %q, not valid JSON", text, enc)
		}
		if rangeErr != nil {
			return
		}
		var got any
		if err := json.Unmarshal([]byte(enc), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("encode(decode(%q)) = %q: %#v, want %#v (%v)", text, enc, got, want, err)
		}
		// Encoding is canonical: sorted keys, one way to write a number.
		again, err := x.call(x.decode, lua.LString(enc))
		if err != nil {
			t.Fatal(err)
		}
		if enc2, err := x.call(x.encode, again[0]); err != nil || string(enc2[0].(lua.LString)) != enc {
			t.Fatalf("%q encodes again as %v (%v)", enc, enc2[0], err)
		}
	})
}

// FuzzJSONEncode builds Lua values from fuzzed bytes (strings of any
// bytes, numbers of any bits, marked arrays, sequences, objects, tables
// with number keys, null) and encodes them with gw.json.encode. It must
// never fail but for a documented reason; the result is valid JSON; and
// decoding it gives the value back as the codec documents: strings (with
// invalid UTF-8 bytes as U+FFFD), finite numbers exactly, booleans, null,
// marked tables and non-empty sequences as arrays, other tables as
// objects whose keys are the table's keys as strings.
func FuzzJSONEncode(f *testing.F) {
	x := newJSONLua(f)
	num := func(v float64) []byte { return binary.LittleEndian.AppendUint64([]byte{2}, math.Float64bits(v)) }
	f.Add([]byte{})
	f.Add([]byte{3, 3, 'a', 'b', 'c'})
	f.Add([]byte{3, 2, 0xff, 0xfe})
	f.Add([]byte{3, 3, 0xed, 0xa0, 0x80})
	f.Add([]byte{3, 2, '"', '\\'})
	f.Add([]byte{3, 4, 0, 0x1f, 0x7f, '\n'})
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1 << 53, 1<<53 + 2, 1e300, 5e-324, math.MaxFloat64,
		math.Inf(1), math.NaN(), 123456789.125} {
		f.Add(num(v))
	}
	f.Add([]byte{4, 0})                  // empty marked array
	f.Add([]byte{5, 0})                  // empty table: an object
	f.Add([]byte{4, 3, 8, 1, 1, 8})      // [null, true, null]
	f.Add([]byte{5, 2, 1, 0, 3, 1, 'x'}) // {false, "x"}: a sequence
	f.Add([]byte{6, 2, 1, 'a', 1, 1, 1, 'b', 8})
	f.Add([]byte{7, 2, 1, 1, 1, 3, 1, 'x'})                 // number keys
	f.Add([]byte{6, 1, 1, '1', 1, 1})                       // string key "1"
	f.Add([]byte{6, 2, 1, 0xff, 1, 1, 1, 0xfe, 1, 0})       // keys "\xff" and "\xfe": both U+FFFD
	f.Add([]byte{6, 2, 1, 0xff, 1, 1, 2, 0xff, 0xfe, 1, 0}) // keys "\xff" and "\xff\xfe": one U+FFFD, two
	f.Add(append([]byte{7, 1, 1}, append(num(1.5)[1:], 1, 1)...))
	f.Add([]byte{7, 2, 0, 3, 1, 1, 2, 1, '1', 1, 0}) // keys 1 and "1"
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &jsonGen{x: x, data: data, marked: map[*lua.LTable]bool{}}
		v := g.value(0)
		nonFinite := hasNonFinite(v)
		out, err := x.call(x.encode, v)
		if err != nil {
			if !documented(err) || strings.Contains(err.Error(), "infinity") && !nonFinite {
				t.Fatalf("encode of %x raised: %v", data, err)
			}
			return
		}
		if nonFinite {
			t.Fatalf("encode of %x wrote a NaN or an infinity: %q", data, out[0])
		}
		enc := string(out[0].(lua.LString))
		if !json.Valid([]byte(enc)) {
			t.Fatalf("encode of %x = %q, not valid JSON", data, enc)
		}
		back, err := x.call(x.decode, lua.LString(enc))
		if err != nil || back[0] == lua.LNil {
			t.Fatalf("decode(%q): %v %v", enc, err, back[1])
		}
		if why := g.same(v, back[0]); why != "" {
			t.Fatalf("encode of %x = %q, which decodes differently: %s", data, enc, why)
		}
	})
}

// jsonGen builds Lua values from bytes.
type jsonGen struct {
	x      *jsonLua
	data   []byte
	marked map[*lua.LTable]bool
}

// hasNonFinite reports whether v holds a NaN or an infinity (as a value:
// keys are written as strings).
func hasNonFinite(v lua.LValue) bool {
	switch x := v.(type) {
	case lua.LNumber:
		return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0)
	case *lua.LTable:
		found := false
		x.ForEach(func(_, e lua.LValue) { found = found || hasNonFinite(e) })
		return found
	}
	return false
}

func (g *jsonGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *jsonGen) float() float64 {
	var b [8]byte
	for i := range b {
		b[i] = g.byte()
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
}

func (g *jsonGen) str() lua.LString {
	n := int(g.byte() % 32)
	if n > len(g.data) {
		n = len(g.data)
	}
	s := string(g.data[:n])
	g.data = g.data[n:]
	return lua.LString(s)
}

func (g *jsonGen) value(depth int) lua.LValue {
	tag := g.byte() % 9
	if depth > 4 && tag >= 4 && tag <= 7 {
		tag = 1
	}
	switch tag {
	case 1:
		return lua.LBool(g.byte()&1 == 1)
	case 2:
		return lua.LNumber(g.float())
	case 3:
		return g.str()
	case 4, 5: // a marked array, or a plain sequence
		t := g.x.L.NewTable()
		for i, n := 0, int(g.byte()%6); i < n; i++ {
			t.Append(g.value(depth + 1))
		}
		if tag == 4 {
			t.Metatable = g.x.marker
			g.marked[t] = true
		}
		return t
	case 6: // string keys
		t := g.x.L.NewTable()
		for i, n := 0, int(g.byte()%6); i < n; i++ {
			t.RawSetString(string(g.str()), g.value(depth+1))
		}
		return t
	case 7: // number keys, and string keys among them
		t := g.x.L.NewTable()
		for i, n := 0, int(g.byte()%6); i < n; i++ {
			var k lua.LValue = lua.LNumber(0)
			switch g.byte() % 3 {
			case 0:
				k = lua.LNumber(int(g.byte()) - 2) // small integers, 0 and negatives too
			case 1:
				if f := g.float(); !math.IsNaN(f) {
					k = lua.LNumber(f)
				}
			case 2:
				k = g.str()
			}
			t.RawSet(k, g.value(depth+1))
		}
		return t
	case 8:
		return g.x.null
	}
	return lua.LString("") // nil only appears as a missing key
}

// same compares a value with what its JSON decoded to, by the codec's
// documented rules; it returns why they differ, or "".
func (g *jsonGen) same(want, got lua.LValue) string {
	switch w := want.(type) {
	case lua.LBool, lua.LNumber:
		if got != want {
			return want.String() + " came back as " + got.String()
		}
	case lua.LString:
		if s, ok := got.(lua.LString); !ok || string(s) != validUTF8(string(w)) {
			return "string " + jsonQuote(string(w)) + " came back as " + got.String()
		}
	case *lua.LUserData:
		if got != g.x.null {
			return "null came back as " + got.String()
		}
	case *lua.LTable:
		gt, ok := got.(*lua.LTable)
		if !ok {
			return "a table came back as " + got.Type().String()
		}
		if g.marked[w] || isSequence(w) {
			if gt.Metatable != g.x.marker {
				return "an array came back unmarked"
			}
			if w.Len() != gt.Len() {
				return "an array's length changed"
			}
			for i := 1; i <= w.Len(); i++ {
				if why := g.same(w.RawGetInt(i), gt.RawGetInt(i)); why != "" {
					return why
				}
			}
			return ""
		}
		if gt.Metatable == g.x.marker {
			return "an object came back as an array"
		}
		keys := map[string]lua.LValue{}
		var why string
		w.ForEach(func(k, v lua.LValue) {
			name := validUTF8(k.String())
			if _, dup := keys[name]; dup && why == "" {
				why = "keys that read the same as strings: " + jsonQuote(name)
			}
			keys[name] = v
		})
		if why != "" {
			return why
		}
		n := 0
		gt.ForEach(func(k, v lua.LValue) {
			n++
			ks, ok := k.(lua.LString)
			if !ok {
				why = "an object key came back as " + k.Type().String()
				return
			}
			wv, ok := keys[string(ks)]
			if !ok && why == "" {
				why = "key " + jsonQuote(string(ks)) + " was not in the table"
			} else if d := g.same(wv, v); d != "" && why == "" {
				why = d
			}
		})
		if why == "" && n != len(keys) {
			why = "an object's key count changed"
		}
		return why
	}
	return ""
}

// isSequence is the codec's rule for unmarked tables written as arrays.
func isSequence(t *lua.LTable) bool {
	n := t.Len()
	if n == 0 {
		return false
	}
	count := 0
	t.ForEach(func(_, _ lua.LValue) { count++ })
	return count == n
}

// validUTF8 replaces each byte that is not part of valid UTF-8 with
// U+FFFD, as gw.json.encode writes them.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestJSONEncodeRefusesDuplicateNames: a table with keys 1 and "1" (or
// two invalid UTF-8 strings, both written as U+FFFD) was written with the
// same name twice, in an order that changed from call to call; receivers
// keep the first or the last (RFC 8259 §4). Found by FuzzJSONEncode.
func TestJSONEncodeRefusesDuplicateNames(t *testing.T) {
	x := newJSONLua(t)
	for _, src := range []string{
		`return gw.json.encode({ [1] = true, ["1"] = false })`,
		`return gw.json.encode({ ["\255"] = 1, ["\254"] = 2 })`,
		`return gw.json.encode({ a = { [2.5] = 1, ["2.5"] = 2 } })`,
	} {
		err := x.L.DoString(src)
		if err == nil || !strings.Contains(err.Error(), "are the same JSON name") {
			t.Errorf("%s: error %v, want the duplicate name refused", src, err)
		}
		x.L.SetTop(0)
	}
	if err := x.L.DoString(`assert(gw.json.encode({ ["\255"] = 1, ["\255\254"] = 2 }) == '{"\\ufffd":1,"\\ufffd\\ufffd":2}')`); err != nil {
		t.Error(err)
	}
}
