package jsonedit

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func apply(t *testing.T, ops []Op, doc string, args ...string) string {
	t.Helper()
	p, err := Compile(ops)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	var a [][]byte
	for _, s := range args {
		a = append(a, []byte(s))
	}
	out, err := p.Apply([]byte("prefix:"), []byte(doc), a)
	if err != nil {
		t.Fatalf("Apply(%s): %v", doc, err)
	}
	if !strings.HasPrefix(string(out), "prefix:") {
		t.Fatalf("dst prefix lost: %q", out)
	}
	got := strings.TrimPrefix(string(out), "prefix:")
	if json.Valid([]byte(doc)) && !json.Valid([]byte(got)) {
		t.Fatalf("Apply(%s) = %s, not valid JSON", doc, got)
	}
	return got
}

func TestOperations(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []Op
		doc  string
		want string
		args []string
	}{
		// add
		{"add absent", []Op{{Kind: Add, Path: "b", Value: JSON("2")}}, `{"a":1}`, `{"a":1,"b":2}`, nil},
		{"add present is a no-op", []Op{{Kind: Add, Path: "a", Value: JSON("2")}}, `{"a":1}`, `{"a":1}`, nil},
		{"add nested creates objects", []Op{{Kind: Add, Path: "x.y.z", Value: JSON("true")}}, `{"a":1}`, `{"a":1,"x":{"y":{"z":true}}}`, nil},
		{"add into existing object", []Op{{Kind: Add, Path: "a.c", Value: String("v")}}, `{"a":{"b":1}}`, `{"a":{"b":1,"c":"v"}}`, nil},
		{"add into empty object", []Op{{Kind: Add, Path: "a", Value: JSON("1")}}, `{}`, `{"a":1}`, nil},
		{"add below a string does nothing", []Op{{Kind: Add, Path: "a.b", Value: JSON("1")}}, `{"a":"s"}`, `{"a":"s"}`, nil},
		{"add below null creates", []Op{{Kind: Add, Path: "a.b", Value: JSON("1")}}, `{"a":null}`, `{"a":{"b":1}}`, nil},
		// set
		{"set replaces", []Op{{Kind: Set, Path: "a", Value: JSON(`{"n": [1, 2]}`)}}, `{"a":1,"b":2}`, `{"a":{"n": [1, 2]},"b":2}`, nil},
		{"set creates", []Op{{Kind: Set, Path: "c", Value: JSON("null")}}, `{"a":1}`, `{"a":1,"c":null}`, nil},
		{"set nested", []Op{{Kind: Set, Path: "a.b", Value: JSON("3")}}, `{"a":{"b":1,"c":2}}`, `{"a":{"b":3,"c":2}}`, nil},
		{"set array element", []Op{{Kind: Set, Path: "items.1.name", Value: String("B")}}, `{"items":[{"name":"a"},{"name":"b"}]}`, `{"items":[{"name":"a"},{"name":"B"}]}`, nil},
		{"set index past end does nothing", []Op{{Kind: Set, Path: "items.2", Value: JSON("1")}}, `{"items":[0,1]}`, `{"items":[0,1]}`, nil},
		{"digits are a key in an object", []Op{{Kind: Set, Path: "m.0", Value: JSON("1")}}, `{"m":{}}`, `{"m":{"0":1}}`, nil},
		{"top-level array", []Op{{Kind: Set, Path: "0.id", Value: JSON("9")}}, `[{"id":1},{"id":2}]`, `[{"id":9},{"id":2}]`, nil},
		{"top-level array, key path", []Op{{Kind: Set, Path: "id", Value: JSON("9")}}, `[{"id":1}]`, `[{"id":1}]`, nil},
		{"set from arg is escaped", []Op{{Kind: Set, Path: "user", Value: Arg(0)}}, `{}`, `{"user":"a\"b\\c\n\u0001` + "\ufffd" + `"}`, []string{"a\"b\\c\n\x01\xff"}},
		// replace
		{"replace present", []Op{{Kind: Replace, Path: "a", Value: JSON("2")}}, `{"a":1}`, `{"a":2}`, nil},
		{"replace absent does nothing", []Op{{Kind: Replace, Path: "b", Value: JSON("2")}}, `{"a":1}`, `{"a":1}`, nil},
		{"replace nested absent creates nothing", []Op{{Kind: Replace, Path: "x.y", Value: JSON("2")}}, `{"a":1}`, `{"a":1}`, nil},
		{"replace array element", []Op{{Kind: Replace, Path: "0", Value: JSON(`"z"`)}}, `["a","b"]`, `["z","b"]`, nil},
		// append
		{"append to array", []Op{{Kind: Append, Path: "tags", Value: String("c")}}, `{"tags":["a", "b"]}`, `{"tags":["a", "b","c"]}`, nil},
		{"append to empty array", []Op{{Kind: Append, Path: "tags", Value: String("c")}}, `{"tags":[ ]}`, `{"tags":[ "c"]}`, nil},
		{"append to scalar", []Op{{Kind: Append, Path: "tags", Value: String("c")}}, `{"tags":"a"}`, `{"tags":["a","c"]}`, nil},
		{"append to object", []Op{{Kind: Append, Path: "o", Value: JSON("1")}}, `{"o":{"k":0}}`, `{"o":[{"k":0},1]}`, nil},
		{"append to absent", []Op{{Kind: Append, Path: "tags", Value: String("c")}}, `{}`, `{"tags":["c"]}`, nil},
		{"append to null", []Op{{Kind: Append, Path: "tags", Value: String("c")}}, `{"tags":null}`, `{"tags":["c"]}`, nil},
		{"append twice", []Op{{Kind: Append, Path: "t", Value: JSON("1")}, {Kind: Append, Path: "t", Value: JSON("2")}}, `{}`, `{"t":[1,2]}`, nil},
		{"append nested absent", []Op{{Kind: Append, Path: "a.t", Value: JSON("1")}}, `{}`, `{"a":{"t":[1]}}`, nil},
		{"append into array element", []Op{{Kind: Append, Path: "m.0", Value: JSON("3")}}, `{"m":[[1,2],[4]]}`, `{"m":[[1,2,3],[4]]}`, nil},
		// remove
		{"remove", []Op{{Kind: Remove, Path: "a"}}, `{"a":1,"b":2}`, `{"b":2}`, nil},
		{"remove last member", []Op{{Kind: Remove, Path: "b"}}, `{"a":1,"b":2}`, `{"a":1}`, nil},
		{"remove only member", []Op{{Kind: Remove, Path: "a"}}, `{"a":1}`, `{}`, nil},
		{"remove absent", []Op{{Kind: Remove, Path: "z.y"}}, `{"a":1}`, `{"a":1}`, nil},
		{"remove nested", []Op{{Kind: Remove, Path: "a.secret"}}, `{"a":{"secret":"x","ok":1}}`, `{"a":{"ok":1}}`, nil},
		{"remove array element", []Op{{Kind: Remove, Path: "items.0"}}, `{"items":[1,2,3]}`, `{"items":[2,3]}`, nil},
		{"remove element twice shifts", []Op{{Kind: Remove, Path: "0"}, {Kind: Remove, Path: "0"}}, `[1,2,3]`, `[3]`, nil},
		{"remove every duplicate", []Op{{Kind: Remove, Path: "role"}}, `{"role":"admin","x":1,"role":"admin"}`, `{"x":1}`, nil},
		// rename
		{"rename keeps place", []Op{{Kind: Rename, Path: "a", To: "z"}}, `{"a":1,"b":2}`, `{"z":1,"b":2}`, nil},
		{"rename nested", []Op{{Kind: Rename, Path: "u.n", To: "name"}}, `{"u":{"n":"x"}}`, `{"u":{"name":"x"}}`, nil},
		{"rename over existing", []Op{{Kind: Rename, Path: "a", To: "b"}}, `{"b":2,"a":1}`, `{"b":1}`, nil},
		{"rename absent", []Op{{Kind: Rename, Path: "q", To: "b"}}, `{"a":1}`, `{"a":1}`, nil},
		{"rename to itself", []Op{{Kind: Rename, Path: "a", To: "a"}}, `{"a":1}`, `{"a":1}`, nil},
		{"rename to a name with quotes", []Op{{Kind: Rename, Path: "a", To: `say "hi"`}}, `{"a":1}`, `{"say \"hi\"":1}`, nil},
		{"rename array element does nothing", []Op{{Kind: Rename, Path: "0", To: "x"}}, `[1]`, `[1]`, nil},
		// duplicates
		{"set acts on the last and drops the others", []Op{{Kind: Set, Path: "role", Value: String("user")}}, `{"role":"admin","x":1,"role":"root"}`, `{"x":1,"role":"user"}`, nil},
		{"nested set drops duplicate parents", []Op{{Kind: Set, Path: "a.z", Value: JSON("1")}}, `{"a":{"x":1},"a":{"y":2}}`, `{"a":{"y":2,"z":1}}`, nil},
		// keys with escapes and dots
		{"escaped dot in path", []Op{{Kind: Set, Path: `a\.b`, Value: JSON("2")}}, `{"a.b":1,"a":{"b":0}}`, `{"a.b":2,"a":{"b":0}}`, nil},
		{"key with bad UTF-8 is U+FFFD, as encoding/json reads it", []Op{{Kind: Remove, Path: "k\ufffd"}}, "{\"k\xff\":1,\"c\":2}", `{"c":2}`, nil},
		{"escaped key in input", []Op{{Kind: Remove, Path: "ab"}}, `{"a\u0062":1,"c":2}`, `{"c":2}`, nil},
		{"new key is escaped", []Op{{Kind: Add, Path: `q"k`, Value: JSON("1")}}, `{}`, `{"q\"k":1}`, nil},
		// ordering
		{"sequential: set then nested", []Op{{Kind: Set, Path: "a", Value: JSON(`{"x":1}`)}, {Kind: Set, Path: "a.y", Value: JSON("2")}}, `{"a":0}`, `{"a":{"x":1,"y":2}}`, nil},
		{"sequential: nested then set", []Op{{Kind: Set, Path: "a.y", Value: JSON("2")}, {Kind: Set, Path: "a", Value: JSON(`{"x":1}`)}}, `{"a":{}}`, `{"a":{"x":1}}`, nil},
		{"sequential: nested then append", []Op{{Kind: Set, Path: "a.y", Value: JSON("2")}, {Kind: Append, Path: "a", Value: JSON("3")}}, `{"a":{"x":1}}`, `{"a":[{"x":1,"y":2},3]}`, nil},
		{"sequential: append then nested", []Op{{Kind: Append, Path: "a", Value: JSON(`{"k":1}`)}, {Kind: Set, Path: "a.1.k", Value: JSON("2")}}, `{"a":[0]}`, `{"a":[0,{"k":2}]}`, nil},
		{"sequential: rename then add old", []Op{{Kind: Rename, Path: "a", To: "b"}, {Kind: Add, Path: "a", Value: JSON("0")}}, `{"a":1}`, `{"b":1,"a":0}`, nil},
		{"sequential: remove then add", []Op{{Kind: Remove, Path: "a"}, {Kind: Add, Path: "a", Value: JSON("2")}}, `{"a":1,"b":1}`, `{"b":1,"a":2}`, nil},
		{"kong order", []Op{
			{Kind: Remove, Path: "password"},
			{Kind: Rename, Path: "user", To: "username"},
			{Kind: Replace, Path: "plan", Value: String("pro")},
			{Kind: Add, Path: "meta.source", Value: Arg(0)},
			{Kind: Append, Path: "tags", Value: String("edited")},
		}, `{"user":"ann","password":"s3cret","plan":"free","tags":["x"]}`, `{"username":"ann","plan":"pro","tags":["x","edited"],"meta":{"source":"gateway"}}`, []string{"gateway"}},
		// preservation
		{"untouched bytes kept", []Op{{Kind: Set, Path: "b.c", Value: JSON("1")}}, `{"a": 1.50e+2, "n": -0.0,"b" : {"c":0, "d" : [ 1 ,2 ] }, "z":"\u00e9\/"}`, `{"a": 1.50e+2, "n": -0.0,"b" : {"c":1, "d" : [ 1 ,2 ] }, "z":"\u00e9\/"}`, nil},
		{"no match leaves the document as is", []Op{{Kind: Remove, Path: "nope.x"}}, " {\"a\" :\t[1, {\"b\":2}] ,\"c\":3 }\n", " {\"a\" :\t[1, {\"b\":2}] ,\"c\":3 }\n", nil},
		{"pretty printed", []Op{{Kind: Add, Path: "c", Value: JSON("3")}, {Kind: Remove, Path: "a"}}, "{\n  \"a\": 1,\n  \"b\": 2\n}", "{\n  \"b\": 2,\n  \"c\":3\n}", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apply(t, tc.ops, tc.doc, tc.args...); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	p, _ := Compile([]Op{{Kind: Set, Path: "a", Value: JSON("1")}})
	for _, tc := range []struct {
		doc  string
		want string
	}{
		{``, "empty document"},
		{`   `, "empty document"},
		{`{"a":1`, "unexpected end of input"},
		{`{"a":1,}`, "expected a string key"},
		{`{"a" 1}`, `expected ":" after a key`},
		{`{"a":1} x`, "text after the document"},
		{`{"a":01}`, `expected "," or "}"`},
		{`{"a":"\x"}`, "invalid escape"},
		{"{\"a\":\"\x01\"}", "control character in a string"},
		{`{"b":[1,2}`, `expected "," or "]"`},
		{`{"b":tru}`, "invalid literal"},
		{`{"b":-}`, "invalid number"},
		{`{"b":1.}`, "invalid number"},
		{`{"b":"\u12"}`, `invalid \u escape`},
		{strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nested too deeply"},
	} {
		out, err := p.Apply([]byte("keep"), []byte(tc.doc), nil)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Apply(%.40q) error = %v; want a SyntaxError with %q", tc.doc, err, tc.want)
		}
		if string(out) != "keep" {
			t.Errorf("Apply(%.40q) left %q in dst; want it unextended", tc.doc, out)
		}
	}
	for _, doc := range []string{`"s"`, `12`, `true`, ` null `} {
		if _, err := p.Apply(nil, []byte(doc), nil); !errors.Is(err, ErrNotContainer) {
			t.Errorf("Apply(%s) error = %v; want ErrNotContainer", doc, err)
		}
	}
	pa, _ := Compile([]Op{{Kind: Set, Path: "a", Value: Arg(1)}})
	if pa.NumArgs() != 2 {
		t.Errorf("NumArgs = %d; want 2", pa.NumArgs())
	}
	if _, err := pa.Apply(nil, []byte(`{}`), [][]byte{nil}); !errors.Is(err, ErrArgs) {
		t.Errorf("one arg for two: err = %v; want ErrArgs", err)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   Op
		want string
	}{
		{"empty path", Op{Kind: Remove, Path: ""}, `operation 0 (remove ""): empty path`},
		{"empty segment", Op{Kind: Remove, Path: "a..b"}, `empty segment at offset 2`},
		{"leading dot", Op{Kind: Remove, Path: ".a"}, `empty segment at offset 0`},
		{"trailing dot", Op{Kind: Remove, Path: "a."}, `ends with an empty segment`},
		{"bad escape", Op{Kind: Remove, Path: `a\b`}, `escapes only "." or "\"`},
		{"trailing backslash", Op{Kind: Remove, Path: `a\`}, `escapes only`},
		{"too deep", Op{Kind: Remove, Path: strings.Repeat("a.", MaxPathSegments) + "a"}, "more than 32 segments"},
		{"no value", Op{Kind: Set, Path: "a"}, "needs a value"},
		{"bad JSON value", Op{Kind: Set, Path: "a", Value: JSON("{x}")}, `value "{x}" is not JSON: expected a string key at offset 1`},
		{"two values", Op{Kind: Set, Path: "a", Value: JSON("1 2")}, "text after the value"},
		{"negative arg", Op{Kind: Set, Path: "a", Value: Arg(-1)}, "negative argument index"},
		{"rename without to", Op{Kind: Rename, Path: "a"}, "needs the new name"},
		{"unknown kind", Op{Kind: 99, Path: "a"}, "unknown operation"},
		{"path not UTF-8", Op{Kind: Remove, Path: "a\xff"}, "not valid UTF-8"},
		{"to not UTF-8", Op{Kind: Rename, Path: "a", To: "\xff"}, "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]Op{tc.op})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile(%+v) error = %v; want it to contain %q", tc.op, err, tc.want)
			}
		})
	}
	// Every bad operation is reported at once.
	_, err := Compile([]Op{{Kind: Set, Path: "a"}, {Kind: Remove, Path: "ok"}, {Kind: Rename, Path: "b"}})
	if err == nil || !strings.Contains(err.Error(), "operation 0") || !strings.Contains(err.Error(), "operation 2") {
		t.Errorf("error = %v; want operations 0 and 2 named", err)
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a.b.c", []string{"a", "b", "c"}},
		{`a\.b.c`, []string{"a.b", "c"}},
		{`a\\.b`, []string{`a\`, "b"}},
		{"items.0.name", []string{"items", "0", "name"}},
		{"ü.€", []string{"ü", "€"}},
	} {
		got, err := ParsePath(tc.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("ParsePath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "\x00\x1f\t\r\n", "é€😀", "bad\xff\xfeutf8", "\u2028"} {
		got := AppendString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendString(%q) = %s, not a JSON string: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s) // encoding/json also turns bad UTF-8 into U+FFFD
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("AppendString(%q) decodes to %q; want %q", s, back, wantBack)
		}
	}
}

func TestConcurrentApply(t *testing.T) {
	p, _ := Compile([]Op{{Kind: Set, Path: "who", Value: Arg(0)}, {Kind: Append, Path: "t", Value: Arg(0)}})
	done := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			name := strings.Repeat(string(rune('a'+g)), g+1)
			for i := 0; i < 200; i++ {
				out, err := p.Apply(nil, []byte(`{"t":[]}`), [][]byte{[]byte(name)})
				if want := `{"t":["` + name + `"],"who":"` + name + `"}`; err != nil || string(out) != want {
					done <- string(out)
					return
				}
			}
			done <- ""
		}(g)
	}
	for g := 0; g < 8; g++ {
		if bad := <-done; bad != "" {
			t.Fatalf("concurrent Apply gave %s", bad)
		}
	}
}

func TestApplyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	p, _ := Compile([]Op{
		{Kind: Remove, Path: "password"},
		{Kind: Rename, Path: "user", To: "username"},
		{Kind: Set, Path: "meta.source", Value: Arg(0)},
		{Kind: Append, Path: "tags", Value: String("edited")},
		{Kind: Set, Path: "items.1.qty", Value: JSON("5")},
	})
	doc := sampleDoc(1 << 10)
	args := [][]byte{[]byte("gateway")}
	dst := make([]byte, 0, 4<<10)
	dst, _ = p.Apply(dst[:0], doc, args)
	if n := testing.AllocsPerRun(100, func() { dst, _ = p.Apply(dst[:0], doc, args) }); n != 0 {
		t.Errorf("Apply allocates %v times per run; want 0", n)
	}
}
