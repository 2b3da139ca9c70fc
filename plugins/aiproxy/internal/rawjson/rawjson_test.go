package rawjson

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var validCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-12.25E-3`, `true`, `false`, `null`,
	` {"a" : [1, 2, {"b": null}], "c": "\u00e9\n\"\\\/\b\f\r\t"} `,
	`"\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `[[[[]]]]`, `{"":""}`,
}

var invalidCases = []string{
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a"}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`,
	`tru`, `nul`, `"abc`, `"\x"`, `"\u12"`, "\"a\x01\"", `[1 2]`, `{"a":1 "b":2}`, `{} {}`, `"a" x`,
	`NaN`, `[1]]`, `{"a":1}}`,
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range append(append([]string{}, validCases...), invalidCases...) {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", s, got, want)
		}
	}
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if Valid([]byte(deep)) {
		t.Error("input deeper than MaxDepth must be refused")
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if !Valid([]byte(ok)) {
		t.Error("input at MaxDepth must be accepted")
	}
}

func TestObjectIteration(t *testing.T) {
	data := []byte(` { "type" : "x", "n\u0061me":[1, 2] ,"nested":{"a":{"b":true}}, "s":"\"}" } `)
	var keys, vals []string
	it := Object(data)
	for it.Next() {
		keys = append(keys, string(it.Key()))
		vals = append(vals, string(it.Value()))
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	wantKeys := []string{"type", `n\u0061me`, "nested", "s"}
	wantVals := []string{`"x"`, `[1, 2]`, `{"a":{"b":true}}`, `"\"}"`}
	if strings.Join(keys, "|") != strings.Join(wantKeys, "|") || strings.Join(vals, "|") != strings.Join(wantVals, "|") {
		t.Fatalf("got keys %q values %q", keys, vals)
	}
	if got := string(Get(data, "name")); got != "[1, 2]" {
		t.Fatalf("Get with an escaped key: got %q", got)
	}
	if got := Get([]byte(`{"a":1,"a":2}`), "a"); string(got) != "2" {
		t.Fatalf("duplicate keys: got %q, want the last", got)
	}
	for _, bad := range []string{`[1]`, `{"a":1`, `{"a":1} x`, `"s"`} {
		it := Object([]byte(bad))
		for it.Next() {
		}
		if it.Err() == nil {
			t.Errorf("Object(%q): no error", bad)
		}
	}
	var n int
	arr := Array([]byte(`[ 1 , "two", [3], {"four":4} ]`))
	for arr.Next() {
		n++
	}
	if arr.Err() != nil || n != 4 {
		t.Fatalf("array: %d elements, %v", n, arr.Err())
	}
}

func TestUnquoteAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{`"plain"`, `"\u00e9\n\t\"\\\/"`, `"\ud83d\ude00 smile"`, `"\ud800 lone"`, `"\udc00"`, `"a\u0000b"`, "\"\xff raw\""} {
		got, ok := AppendUnquote(nil, []byte(s))
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil || !ok {
			t.Fatalf("%s: %v %v", s, err, ok)
		}
		// encoding/json replaces invalid UTF-8 on decode; the raw copy
		// keeps bytes, which is what Unquote of a valid literal gives.
		if utf8.ValidString(s) && string(got) != want {
			t.Errorf("AppendUnquote(%s) = %q, want %q", s, got, want)
		}
	}
}

func TestAppendCompact(t *testing.T) {
	in := []byte("{ \"a\" : [ 1 ,\n 2 ] ,\t\"s\" : \"keep  this \\\" space\" }")
	got := AppendCompact(nil, in)
	var want bytes.Buffer
	if err := json.Compact(&want, in); err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Fatalf("got %s, want %s", got, want.String())
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{{"12", 12, true}, {"-3", -3, true}, {"12.0", 12, true}, {"1e3", 1000, true}, {"1.5", 0, false}, {`"1"`, 0, false}, {"null", 0, false}, {"", 0, false}} {
		got, ok := Int([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Int(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSet(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"model":"a","x":{"model":"inner"}}`, `{"model":"B","x":{"model":"inner"}}`},
		{`{"model":"a","model":"b"}`, `{"model":"B","model":"B"}`},
		{`{"m\u006fdel":"a"}`, `{"m\u006fdel":"B"}`},
		{`{"x":1}`, `{"model":"B","x":1}`},
		{`{}`, `{"model":"B"}`},
		{` { } `, ` {"model":"B" } `},
		{`{"x":1 , "model" : "a" , "unknown_future_field":[1,2]}`, `{"x":1 , "model" : "B" , "unknown_future_field":[1,2]}`},
	} {
		got, err := Set([]byte(tc.in), "model", []byte(`"B"`))
		if err != nil || string(got) != tc.want {
			t.Errorf("Set(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("Set(%s) = %s: invalid JSON", tc.in, got)
		}
	}
	if _, err := Set([]byte(`[1]`), "model", []byte(`"B"`)); err == nil {
		t.Error("Set on an array: no error")
	}
}

func TestIteratorDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"},"m\u006fdel":"x"}`)
	n := testing.AllocsPerRun(1000, func() {
		it := Object(data)
		for it.Next() {
			if it.KeyIs("model") || it.KeyIs("delta") {
				_ = Get(it.Value(), "text")
			}
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}

// FuzzValid checks the scanner against encoding/json: the same verdict on
// validity, and for objects the same members.
func FuzzValid(f *testing.F) {
	for _, s := range append(append([]string{}, validCases...), invalidCases...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := Valid(data)
		if bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) < MaxDepth {
			if want := json.Valid(data); got != want {
				t.Fatalf("Valid(%q) = %v, encoding/json says %v", data, got, want)
			}
		}
		if !got {
			return
		}
		trimmed := bytes.TrimSpace(data)
		if trimmed[0] != '{' {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		it := Object(data)
		seen := map[string]bool{}
		for it.Next() {
			k, _ := AppendUnquote(nil, append(append([]byte{'"'}, it.Key()...), '"'))
			if !utf8.Valid(k) {
				return // encoding/json changed the key
			}
			seen[string(k)] = true
			if !Valid(it.Value()) {
				t.Fatalf("member %q has invalid value %q", k, it.Value())
			}
		}
		if it.Err() != nil {
			t.Fatalf("iteration failed on valid input: %v", it.Err())
		}
		if len(seen) != len(m) {
			t.Fatalf("got %d keys, encoding/json %d", len(seen), len(m))
		}
		// The compacted form stays valid and on one line.
		c := AppendCompact(nil, data)
		if !json.Valid(c) || bytes.ContainsAny(c, "\n\r") {
			t.Fatalf("AppendCompact(%q) = %q", data, c)
		}
	})
}
