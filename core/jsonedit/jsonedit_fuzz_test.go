package jsonedit

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzApply runs one operation on a fuzzed document and checks that Apply
// never panics, succeeds exactly on the documents encoding/json accepts
// (objects and arrays), writes valid JSON, keeps every untouched
// top-level member byte for byte, and that Set and Remove do what they
// say where the path goes through objects only.
func FuzzApply(f *testing.F) {
	seeds := []struct {
		doc, path, value string
		kind             uint8
	}{
		{`{"a":1,"b":{"c":[1,2,{"d":null}]}}`, "b.c.2.d", `"x"`, uint8(Set)},
		{`{"a":1,"a":2}`, "a", `3`, uint8(Remove)},
		{`{"tags":["x"]}`, "tags", `"y"`, uint8(Append)},
		{`{"u":{"n":"x"}}`, "u.n", `name`, uint8(Rename)},
		{`[{"id":1}]`, "0.id", `{"k":[]}`, uint8(Replace)},
		{"{\n  \"a\": 1.5e3,\n  \"b\": \"\\u00e9\"\n}", `a\.b`, `true`, uint8(Add)},
		{`{"a" : null}`, "a.b.c", `null`, uint8(Add)},
		{`{"a":"\ud83d\ude00"}`, "\U0001F600", `1`, uint8(Set)},
		{`"scalar"`, "a", `1`, uint8(Set)},
		{`{"a":1`, "a", `1`, uint8(Set)},
		{`[]`, "0", `1`, uint8(Append)},
	}
	for _, s := range seeds {
		f.Add([]byte(s.doc), s.kind, s.path, s.value)
	}
	f.Fuzz(func(t *testing.T, doc []byte, kind uint8, path, value string) {
		k := Kind(kind%6 + 1)
		op := Op{Kind: k, Path: path}
		switch k {
		case Rename:
			op.To = value
		case Remove:
		default:
			op.Value = JSON(value)
		}
		p, err := Compile([]Op{op})
		if err != nil {
			return
		}
		out, err := p.Apply(nil, doc, nil)
		valid := json.Valid(doc)
		if err != nil {
			var se *SyntaxError
			switch {
			case errors.Is(err, ErrNotContainer):
				if !valid {
					t.Fatalf("ErrNotContainer for invalid %q", doc)
				}
			case errors.As(err, &se):
				if valid && se.Msg != "nested too deeply" {
					t.Fatalf("valid document %q refused: %v", doc, err)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid document %q accepted, gave %q", doc, out)
		}
		if !json.Valid(out) {
			t.Fatalf("Apply(%q, %v %q %q) = %q, not valid JSON", doc, k, path, value, out)
		}
		segs, _ := ParsePath(path)
		checkUntouched(t, doc, out, segs[0])
		checkEffect(t, doc, out, k, segs, value)
	})
}

// checkUntouched compares the raw bytes of every top-level member other
// than the one the path starts with.
func checkUntouched(t *testing.T, doc, out []byte, first string) {
	var in, got map[string]json.RawMessage
	if json.Unmarshal(doc, &in) != nil {
		return // not an object
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %q of object %q is not an object: %v", out, doc, err)
	}
	for k, v := range in {
		if k == first {
			continue
		}
		if g, ok := got[k]; !ok || !bytes.Equal(g, v) {
			t.Fatalf("untouched member %q was %q, now %q (doc %q, out %q)", k, v, g, doc, out)
		}
	}
}

// checkEffect checks Set and Remove on paths through objects.
func checkEffect(t *testing.T, doc, out []byte, k Kind, segs []string, value string) {
	if k != Set && k != Remove {
		return
	}
	for _, s := range segs {
		if !utf8.ValidString(s) {
			return // a new key is written with U+FFFD for the bad bytes
		}
	}
	var root any
	if json.Unmarshal(doc, &root) != nil {
		return
	}
	cur := root
	for _, s := range segs[:len(segs)-1] {
		m, ok := cur.(map[string]any)
		if !ok {
			return // an array, or a scalar on the way: not checked here
		}
		if cur = m[s]; cur == nil {
			if k == Remove {
				return
			}
			break // absent or null: Set creates it
		}
	}
	if _, ok := cur.(map[string]any); !ok && cur != nil {
		return
	}
	var res any
	json.Unmarshal(out, &res)
	for _, s := range segs[:len(segs)-1] {
		res = res.(map[string]any)[s]
	}
	v, present := res.(map[string]any)[segs[len(segs)-1]]
	switch k {
	case Remove:
		if present {
			t.Fatalf("after remove %q the output %q still has it", segs, out)
		}
	case Set:
		var want any
		json.Unmarshal([]byte(value), &want)
		if !present || !reflect.DeepEqual(v, want) {
			t.Fatalf("after set %q = %s the output %q has %v", segs, value, out, v)
		}
	}
}
