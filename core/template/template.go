package template

import (
	"regexp"
	"strconv"
	"strings"
)

// Source gives a template the data of the current request. The plugin
// implements it over its request context. Every method returns nil (or an
// empty slice) for an absent value; the returned slice is only read, and
// only until the next call on the Source, so an implementation may reuse
// one scratch buffer (to turn a ctx value that is not a string into text,
// say).
type Source interface {
	// Header returns the value of the request header name (the name as
	// written in the template; lookups are expected to be case-insensitive).
	Header(name string) []byte
	// Query returns the (decoded) value of the query argument name.
	Query(name string) []byte
	// Param returns the value of the route parameter name.
	Param(name string) []byte
	// ConsumerName returns the authenticated consumer's name.
	ConsumerName() []byte
	// Ctx returns the per-request value name as text.
	Ctx(name string) []byte
	// Request returns one of the request's own fields.
	Request(f Field) []byte
}

// Field names a field of the request itself, for $(request.FIELD).
type Field uint8

// The request fields a template can reference.
const (
	FieldHost   Field = iota + 1 // $(request.host): the Host, without change
	FieldPath                    // $(request.path): the normalized path
	FieldMethod                  // $(request.method)
	FieldScheme                  // $(request.scheme): "http" or "https"
	FieldQuery                   // $(request.query): the raw query string, without "?"
)

var fieldNames = []string{FieldHost: "host", FieldPath: "path", FieldMethod: "method", FieldScheme: "scheme", FieldQuery: "query"}

// String returns the field's name as written in a template.
func (f Field) String() string {
	if int(f) < len(fieldNames) && f != 0 {
		return fieldNames[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}

// Captures are the capture groups of the plugin's regex on one subject, as
// returned by regexp.Regexp.FindSubmatchIndex: group n is
// Subject[Index[2n]:Index[2n+1]], and -1 marks a group that did not take
// part in the match. The zero value has no groups.
type Captures struct {
	Subject []byte
	Index   []int
}

func (c Captures) group(n int) []byte {
	if 2*n+1 >= len(c.Index) || c.Index[2*n] < 0 {
		return nil
	}
	return c.Subject[c.Index[2*n]:c.Index[2*n+1]]
}

// Escape selects how Expand encodes the values of $(...) references.
type Escape uint8

const (
	// EscapeNone copies values as they are (headers, JSON strings: the JSON
	// encoder escapes on its own).
	EscapeNone Escape = iota
	// EscapePath percent-encodes a value for use inside a path segment:
	// everything but unreserved characters, sub-delims, ":" and "@" is
	// encoded, so "/", "?", "#" and "%" in a value cannot change the path's
	// shape.
	EscapePath
	// EscapeQuery percent-encodes a value for use as a query key or value:
	// everything but unreserved characters is encoded (a space as "%20").
	EscapeQuery
)

// Options are the compile-time settings of a template.
type Options struct {
	// Regexp is the regex whose captures $N, ${N} and ${name} refer to.
	// Without one, a capture reference is a compile error.
	Regexp *regexp.Regexp
	// Params, when not nil, lists the route parameters that exist; a
	// $(param.x) with another name is a compile error.
	Params []string
	// Escape encodes the values of $(...) references; see Escape.
	Escape Escape
}

type opKind uint8

const (
	opLiteral opKind = iota
	opHeader
	opQuery
	opParam
	opConsumer
	opCtx
	opRequest
	opCapture
)

type op struct {
	kind  opKind
	field Field  // opRequest
	group int    // opCapture
	text  string // opLiteral: the text; other kinds: the name
}

// Template is a compiled template. It is immutable and safe for concurrent
// use.
type Template struct {
	src    string
	ops    []op
	escape Escape
}

// Error is a template compile error.
type Error struct {
	Template string // the template as written
	Offset   int    // byte offset of the bad reference
	Reason   string
}

// Error formats the error as `template "…": offset N: reason`.
func (e *Error) Error() string {
	return "template " + strconv.Quote(e.Template) + ": offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// sources are the kinds a $(kind.name) reference may name, with the
// Kong/nginx spellings users bring along mapped to the right one.
var sources = []string{"header", "query", "param", "consumer", "ctx", "request"}

var aliases = map[string]string{
	"headers": "header", "http": "header", "query_params": "query", "arg": "query", "args": "query",
	"uri_captures": "param", "params": "param", "shared": "ctx", "var": "ctx", "vars": "ctx",
}

// Compile parses s into a template. Errors name the bad reference and its
// offset, with a did-you-mean where a near name exists.
func Compile(s string, o Options) (*Template, error) {
	t := &Template{src: s, escape: o.Escape}
	fail := func(off int, reason string) (*Template, error) {
		return nil, &Error{Template: s, Offset: off, Reason: reason}
	}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			t.ops = append(t.ops, op{kind: opLiteral, text: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			lit = append(lit, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return fail(i, `lone "$" at the end: write "$$" for a dollar sign`)
		}
		switch n := s[i+1]; {
		case n == '$':
			lit = append(lit, '$')
			i += 2
		case n >= '0' && n <= '9':
			g := int(n - '0')
			if err := checkGroup(o.Regexp, g); err != "" {
				return fail(i, err)
			}
			flush()
			t.ops = append(t.ops, op{kind: opCapture, group: g})
			i += 2
		case n == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return fail(i, `"${" without its closing "}"`)
			}
			name := s[i+2 : i+2+end]
			g, reason := resolveGroup(o.Regexp, name)
			if reason != "" {
				return fail(i, reason)
			}
			flush()
			t.ops = append(t.ops, op{kind: opCapture, group: g})
			i += 3 + end
		case n == '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				return fail(i, `"$(" without its closing ")"`)
			}
			o, reason := parseRef(s[i+2:i+2+end], o.Params)
			if reason != "" {
				return fail(i, reason)
			}
			flush()
			t.ops = append(t.ops, o)
			i += 3 + end
		default:
			return fail(i, `"$" must start $(source.name), $N, ${name} or $$ (for a dollar sign)`)
		}
	}
	flush()
	return t, nil
}

// MustCompile is Compile that panics on error, for tests and fixed
// templates in code.
func MustCompile(s string, o Options) *Template {
	t, err := Compile(s, o)
	if err != nil {
		panic(err)
	}
	return t
}

func checkGroup(re *regexp.Regexp, g int) string {
	if re == nil {
		return "capture $" + strconv.Itoa(g) + " needs a regex to capture from, and there is none here"
	}
	if g > re.NumSubexp() {
		return "capture $" + strconv.Itoa(g) + " does not exist: the regex " + strconv.Quote(re.String()) +
			" has " + strconv.Itoa(re.NumSubexp()) + " group(s)"
	}
	return ""
}

func resolveGroup(re *regexp.Regexp, name string) (int, string) {
	if name == "" {
		return 0, "empty capture name in ${}"
	}
	if g, err := strconv.Atoi(name); err == nil && g >= 0 {
		return g, checkGroup(re, g)
	}
	if re == nil {
		return 0, "capture ${" + name + "} needs a regex to capture from, and there is none here"
	}
	if g := re.SubexpIndex(name); g >= 0 {
		return g, ""
	}
	var names []string
	for _, n := range re.SubexpNames() {
		if n != "" {
			names = append(names, n)
		}
	}
	return 0, "capture ${" + name + "} does not exist in the regex " + strconv.Quote(re.String()) + didYouMean(name, names)
}

func parseRef(ref string, params []string) (op, string) {
	kind, name, ok := strings.Cut(ref, ".")
	if !ok {
		if ref == "" {
			return op{}, "empty reference $()"
		}
		return op{}, "reference $(" + ref + ") needs a source and a name, as in $(header.x-user)" + didYouMean(ref, sources)
	}
	if name == "" {
		return op{}, "reference $(" + ref + ") has no name after \"" + kind + ".\""
	}
	switch kind {
	case "header":
		if !isToken(name) {
			return op{}, "header name " + strconv.Quote(name) + " is not a valid HTTP field name"
		}
		return op{kind: opHeader, text: name}, ""
	case "query":
		return op{kind: opQuery, text: name}, ""
	case "param":
		if params != nil && !contains(params, name) {
			return op{}, "route parameter " + strconv.Quote(name) + " does not exist" + didYouMean(name, params)
		}
		return op{kind: opParam, text: name}, ""
	case "ctx":
		return op{kind: opCtx, text: name}, ""
	case "consumer":
		if name != "name" {
			return op{}, "consumer has only a name: write $(consumer.name)"
		}
		return op{kind: opConsumer}, ""
	case "request":
		for f, n := range fieldNames {
			if n != "" && n == name {
				return op{kind: opRequest, field: Field(f)}, ""
			}
		}
		return op{}, "unknown request field " + strconv.Quote(name) + " (one of host, path, method, scheme, query)" + didYouMean(name, fieldNames[1:])
	}
	hint := didYouMean(kind, sources)
	if a, ok := aliases[kind]; ok {
		hint = " (did you mean \"" + a + "\"?)"
	}
	return op{}, "unknown source " + strconv.Quote(kind) + " in $(" + ref + ")" + hint
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isToken reports whether s is an RFC 9110 token (a valid field name).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return s != ""
}

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to s,
// or "" when none is close.
func didYouMean(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := distance(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// String returns the template as it was written.
func (t *Template) String() string { return t.src }

// Static returns the expansion of a template that references nothing
// ($$ already turned into "$"), and whether it is such a template; a
// plugin can then precompute the value once.
func (t *Template) Static() (string, bool) {
	switch {
	case len(t.ops) == 0:
		return "", true
	case len(t.ops) == 1 && t.ops[0].kind == opLiteral:
		return t.ops[0].text, true
	}
	return "", false
}

// UsesCaptures reports whether the template references a capture group,
// so the plugin knows it must run its regex before expanding.
func (t *Template) UsesCaptures() bool {
	for _, o := range t.ops {
		if o.kind == opCapture {
			return true
		}
	}
	return false
}

// Expand appends the expansion of t to dst and returns the extended
// slice. complete is false when at least one reference expanded to the
// empty string (absent or empty value, capture group that did not take
// part). Expand does not allocate beyond growing dst.
func (t *Template) Expand(dst []byte, src Source, c Captures) (out []byte, complete bool) {
	complete = true
	for i := range t.ops {
		o := &t.ops[i]
		var v []byte
		switch o.kind {
		case opLiteral:
			dst = append(dst, o.text...)
			continue
		case opCapture:
			v = c.group(o.group)
			if len(v) == 0 {
				complete = false
			}
			dst = append(dst, v...)
			continue
		case opHeader:
			v = src.Header(o.text)
		case opQuery:
			v = src.Query(o.text)
		case opParam:
			v = src.Param(o.text)
		case opConsumer:
			v = src.ConsumerName()
		case opCtx:
			v = src.Ctx(o.text)
		case opRequest:
			v = src.Request(o.field)
		}
		if len(v) == 0 {
			complete = false
			continue
		}
		dst = appendEscaped(dst, v, t.escape)
	}
	return dst, complete
}

const hexDigits = "0123456789ABCDEF"

func appendEscaped(dst, v []byte, e Escape) []byte {
	if e == EscapeNone {
		return append(dst, v...)
	}
	for _, c := range v {
		if keep(c, e) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

func keep(c byte, e Escape) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	switch c {
	case '-', '.', '_', '~':
		return true
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return e == EscapePath
	}
	return false
}

// ValidHeaderValue reports whether v may be sent as a header value: it
// holds no CR, LF or NUL (RFC 9110 §5.5), which would split the header or
// end it early. Check every expansion that goes into a header.
func ValidHeaderValue(v []byte) bool {
	for _, c := range v {
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
