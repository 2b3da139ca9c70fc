package template

import (
	"regexp"
	"strings"
	"testing"
)

// fakeSource is a Source over fixed maps.
type fakeSource struct {
	headers, query, params, ctx map[string]string
	consumer                    string
	req                         map[Field]string
}

func (f *fakeSource) Header(n string) []byte { return []byte(f.headers[strings.ToLower(n)]) }
func (f *fakeSource) Query(n string) []byte  { return []byte(f.query[n]) }
func (f *fakeSource) Param(n string) []byte  { return []byte(f.params[n]) }
func (f *fakeSource) ConsumerName() []byte   { return []byte(f.consumer) }
func (f *fakeSource) Ctx(n string) []byte    { return []byte(f.ctx[n]) }
func (f *fakeSource) Request(x Field) []byte { return []byte(f.req[x]) }

func testSource() *fakeSource {
	return &fakeSource{
		headers:  map[string]string{"x-user": "alice", "x-evil": "a\r\nb"},
		query:    map[string]string{"page": "2", "q": "a b/c?d#e%"},
		params:   map[string]string{"id": "42"},
		ctx:      map[string]string{"tenant": "t1"},
		consumer: "bob",
		req:      map[Field]string{FieldHost: "api.example.com", FieldPath: "/v1/users", FieldMethod: "GET", FieldScheme: "http", FieldQuery: "a=1&b=2"},
	}
}

func TestExpand(t *testing.T) {
	re := regexp.MustCompile(`^/v1/(?P<rest>.*)$`)
	subject := []byte("/v1/users/7")
	caps := Captures{Subject: subject, Index: re.FindSubmatchIndex(subject)}
	for _, tc := range []struct {
		name, tmpl string
		opts       Options
		want       string
		complete   bool
	}{
		{"literal", "plain text", Options{}, "plain text", true},
		{"empty", "", Options{}, "", true},
		{"dollar", "costs $$5 or $$$$", Options{}, "costs $5 or $$", true},
		{"header", "user=$(header.x-user)", Options{}, "user=alice", true},
		{"header case", "$(header.X-User)", Options{}, "alice", true},
		{"query", "$(query.page)", Options{}, "2", true},
		{"param", "/items/$(param.id)", Options{}, "/items/42", true},
		{"consumer", "$(consumer.name)", Options{}, "bob", true},
		{"ctx", "[$(ctx.tenant)]", Options{}, "[t1]", true},
		{"request fields", "$(request.scheme)://$(request.host)$(request.path)?$(request.query) $(request.method)", Options{}, "http://api.example.com/v1/users?a=1&b=2 GET", true},
		{"missing is empty", "a$(header.nope)b", Options{}, "ab", false},
		{"capture", "/api/$1", Options{Regexp: re}, "/api/users/7", true},
		{"whole match", "$0", Options{Regexp: re}, "/v1/users/7", true},
		{"named capture", "/api/${rest}", Options{Regexp: re}, "/api/users/7", true},
		{"numbered brace", "/api/${1}x", Options{Regexp: re}, "/api/users/7x", true},
		{"capture not escaped", "/p/$1", Options{Regexp: re, Escape: EscapePath}, "/p/users/7", true},
		{"path escape", "/s/$(query.q)", Options{Escape: EscapePath}, "/s/a%20b%2Fc%3Fd%23e%25", true},
		{"query escape", "?q=$(query.q)&h=$(request.host)", Options{Escape: EscapeQuery}, "?q=a%20b%2Fc%3Fd%23e%25&h=api.example.com", true},
		{"mixed", "$(consumer.name)-$(param.id)-$$-$1", Options{Regexp: re}, "bob-42-$-users/7", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := Compile(tc.tmpl, tc.opts)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.tmpl, err)
			}
			got, complete := tm.Expand([]byte("prefix:"), testSource(), caps)
			if string(got) != "prefix:"+tc.want || complete != tc.complete {
				t.Errorf("Expand(%q) = %q, %v; want %q, %v", tc.tmpl, got, complete, "prefix:"+tc.want, tc.complete)
			}
		})
	}
}

func TestCaptureDidNotParticipate(t *testing.T) {
	re := regexp.MustCompile(`^/(a)?(b)$`)
	s := []byte("/b")
	tm := MustCompile("[$1][$2]", Options{Regexp: re})
	got, complete := tm.Expand(nil, testSource(), Captures{Subject: s, Index: re.FindSubmatchIndex(s)})
	if string(got) != "[][b]" || complete {
		t.Errorf("got %q, %v; want %q, false", got, complete, "[][b]")
	}
	// No match at all: the zero Captures expands every group to "".
	got, complete = tm.Expand(nil, testSource(), Captures{})
	if string(got) != "[][]" || complete {
		t.Errorf("no match: got %q, %v; want %q, false", got, complete, "[][]")
	}
}

func TestCompileErrors(t *testing.T) {
	re := regexp.MustCompile(`^/v1/(?P<rest>.*)$`)
	for _, tc := range []struct {
		name, tmpl string
		opts       Options
		want       string // substring of the error
	}{
		{"lone dollar", "cost $", Options{}, `offset 5: lone "$" at the end`},
		{"dollar letter", "a$b", Options{}, `offset 1: "$" must start`},
		{"unclosed paren", "$(header.x", Options{}, `without its closing ")"`},
		{"unclosed brace", "${rest", Options{Regexp: re}, `without its closing "}"`},
		{"empty ref", "$()", Options{}, "empty reference"},
		{"no name", "$(header.)", Options{}, `has no name after "header."`},
		{"no dot", "$(consumer)", Options{}, `needs a source and a name`},
		{"typo source", "$(hedaer.x)", Options{}, `unknown source "hedaer" in $(hedaer.x) (did you mean "header"?)`},
		{"kong headers", "$(headers.x)", Options{}, `(did you mean "header"?)`},
		{"kong query_params", "$(query_params.x)", Options{}, `(did you mean "query"?)`},
		{"kong uri_captures", "$(uri_captures.id)", Options{}, `(did you mean "param"?)`},
		{"consumer field", "$(consumer.username)", Options{}, `write $(consumer.name)`},
		{"request field", "$(request.hots)", Options{}, `unknown request field "hots" (one of host, path, method, scheme, query) (did you mean "host"?)`},
		{"bad header name", "$(header.a b)", Options{}, `header name "a b" is not a valid HTTP field name`},
		{"unknown param", "$(param.idd)", Options{Params: []string{"id", "name"}}, `route parameter "idd" does not exist (did you mean "id"?)`},
		{"capture without regex", "/api/$1", Options{}, `capture $1 needs a regex`},
		{"capture out of range", "$2", Options{Regexp: re}, `capture $2 does not exist: the regex "^/v1/(?P<rest>.*)$" has 1 group(s)`},
		{"named unknown", "${res}", Options{Regexp: re}, `capture ${res} does not exist in the regex "^/v1/(?P<rest>.*)$" (did you mean "rest"?)`},
		{"named without regex", "${rest}", Options{}, `needs a regex`},
		{"empty brace", "${}", Options{Regexp: re}, `empty capture name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.tmpl, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile(%q) error = %v; want it to contain %q", tc.tmpl, err, tc.want)
			}
		})
	}
}

func TestErrorNamesTemplate(t *testing.T) {
	_, err := Compile("x-$(hedaer.y)", Options{})
	want := `template "x-$(hedaer.y)": offset 2: unknown source "hedaer" in $(hedaer.y) (did you mean "header"?)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v; want %s", err, want)
	}
}

func TestStatic(t *testing.T) {
	for _, tc := range []struct {
		tmpl   string
		want   string
		static bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"a$$b", "a$b", true},
		{"a$(header.x)", "", false},
	} {
		s, ok := MustCompile(tc.tmpl, Options{}).Static()
		if s != tc.want || ok != tc.static {
			t.Errorf("Static(%q) = %q, %v; want %q, %v", tc.tmpl, s, ok, tc.want, tc.static)
		}
	}
	re := regexp.MustCompile(`(x)`)
	if !MustCompile("a$1", Options{Regexp: re}).UsesCaptures() || MustCompile("a", Options{Regexp: re}).UsesCaptures() {
		t.Error("UsesCaptures wrong")
	}
}

func TestValidHeaderValue(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"alice", true}, {"", true}, {"a\tb", true}, {"ünï", true},
		{"a\r\nX-Admin: 1", false}, {"a\nb", false}, {"a\rb", false}, {"a\x00b", false},
	} {
		if got := ValidHeaderValue([]byte(tc.v)); got != tc.ok {
			t.Errorf("ValidHeaderValue(%q) = %v; want %v", tc.v, got, tc.ok)
		}
	}
	// A header value with CR/LF reaches a template as is: the caller checks.
	got, _ := MustCompile("$(header.x-evil)", Options{}).Expand(nil, testSource(), Captures{})
	if ValidHeaderValue(got) {
		t.Errorf("expansion %q passed ValidHeaderValue", got)
	}
}

// zeroSource returns fixed slices without allocating, for the alloc guard.
type zeroSource struct{ v []byte }

func (z *zeroSource) Header(string) []byte { return z.v }
func (z *zeroSource) Query(string) []byte  { return z.v }
func (z *zeroSource) Param(string) []byte  { return z.v }
func (z *zeroSource) ConsumerName() []byte { return z.v }
func (z *zeroSource) Ctx(string) []byte    { return z.v }
func (z *zeroSource) Request(Field) []byte { return z.v }

func TestExpandAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	re := regexp.MustCompile(`^/v1/(.*)$`)
	tm := MustCompile("/api/$1?u=$(header.x)&q=$(query.y)&p=$(param.id)&c=$(consumer.name)&t=$(ctx.t)&h=$(request.host)", Options{Regexp: re, Escape: EscapeQuery})
	subject := []byte("/v1/users/7")
	caps := Captures{Subject: subject, Index: re.FindSubmatchIndex(subject)}
	var src Source = &zeroSource{v: []byte("value with space")}
	dst := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { dst, _ = tm.Expand(dst[:0], src, caps) }); n != 0 {
		t.Errorf("Expand allocates %v times per run; want 0", n)
	}
}
