package transformstep

import (
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/jsonedit"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/template"
	"github.com/valyala/fasthttp"
)

// Config is the operations of a transformer step, as written in its TOML
// table: each operation a table of its own with headers, query arguments
// and body fields.
//
//	[routes.plugins.config.remove]
//	headers = ["X-Debug"]
//	body = ["password"]
//	[routes.plugins.config.set]
//	headers = { "X-Tenant" = "$(ctx.tenant)" }
//	body = { "meta.source" = "gateway", "meta.version" = 2 }
//
// They run in this order, each on the result of the ones before: remove,
// rename, replace, set, add, append (Kong's order, with set between
// replace and add).
type Config struct {
	// Remove deletes headers, query arguments (every value) and body
	// fields (dotted paths).
	Remove Names `toml:"remove"`
	// Rename gives headers, query arguments and body fields another
	// name: old name (a path for the body) = new name.
	Rename Renames `toml:"rename"`
	// Replace sets values that are present, and only those.
	Replace Values `toml:"replace"`
	// Set sets values, present or not.
	Set Values `toml:"set"`
	// Add sets values that are absent, and only those.
	Add Values `toml:"add"`
	// Append adds a value: another header line, another query value, an
	// element at the end of a body array (a single value becomes an
	// array of two).
	Append Values `toml:"append"`
}

// Names lists what an operation removes.
type Names struct {
	Headers []string `toml:"headers"`
	Query   []string `toml:"query"`
	Body    []string `toml:"body"`
}

// Renames maps old names to new ones. For the body, the old name is a
// dotted path and the new one a key name in the same object.
type Renames struct {
	Headers map[string]string `toml:"headers"`
	Query   map[string]string `toml:"query"`
	Body    map[string]string `toml:"body"`
}

// Values maps names to the values an operation writes. Header and query
// values are templates; body values are templates when they are strings,
// and JSON values otherwise (numbers, booleans, arrays). A TOML table in
// body is a list of paths: { meta = { source = "gw" } } is the path
// "meta.source".
type Values struct {
	Headers map[string]string `toml:"headers"`
	Query   map[string]string `toml:"query"`
	Body    map[string]any    `toml:"body"`
}

// Options are the settings of Compile.
type Options struct {
	// Query allows query operations (the request side).
	Query bool
	// Request marks the request side: the Host header is refused (the
	// upstream's target or the route's preserve_host decide it).
	Request bool
	// Regexp is the regex whose captures templates may use ($1, ${name}).
	Regexp *regexp.Regexp
	// Params are the route's path parameters, for $(param.x); nil: any.
	Params []string
}

type single struct {
	prog *jsonedit.Program
	arg  int // index in bodyArgs, -1 for a fixed value
}

type kind uint8

const (
	opRemove kind = iota + 1
	opRename
	opReplace
	opSet
	opAdd
	opAppend
)

var kindNames = [...]string{opRemove: "remove", opRename: "rename", opReplace: "replace", opSet: "set", opAdd: "add", opAppend: "append"}

// op is one header or query operation.
type op struct {
	kind   kind
	name   string
	bname  []byte
	to     string // rename
	bto    []byte
	value  *template.Template
	static []byte // the value, when the template references nothing
}

// Program is a compiled Config. It is immutable and safe for concurrent
// use.
type Program struct {
	headers  []op
	query    []op
	body     *jsonedit.Program
	bodyArgs []*template.Template
	// singles are the body operations one by one (a template's value as
	// argument 0), for a request where a template has no value: its
	// operation is skipped, the others run.
	singles  []single
	captures bool
	// Throttled logs of what requests bring (a header value with a line
	// break, a body that is not JSON).
	badValue, badBody Throttle
}

// reserved are headers no transformer touches: the message's framing and
// the connection's own (hop-by-hop) headers are the gateway's.
var reserved = []string{"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "TE", "Trailer",
	"Upgrade", "Proxy-Connection"}

// Compile checks and compiles cfg. Problems are reported at their key
// inside the step's table t ("set.headers", "rename.body").
func Compile(t config.Table, cfg *Config, o Options) (*Program, error) {
	p := &Program{}
	var errs []error
	fail := func(key, reason string) { errs = append(errs, t.Problem(key, reason)) }
	tmpl := func(key, s string) *template.Template {
		tp, err := template.Compile(s, template.Options{Regexp: o.Regexp, Params: o.Params})
		if err != nil {
			fail(key, err.Error())
			return nil
		}
		if tp.UsesCaptures() {
			p.captures = true
		}
		return tp
	}
	header := func(key, name string) bool {
		if !config.IsToken(name) {
			fail(key, "invalid header name "+strconv.Quote(name))
			return false
		}
		for _, r := range reserved {
			if strings.EqualFold(name, r) {
				fail(key, strconv.Quote(name)+" is the gateway's to set (framing or connection header)")
				return false
			}
		}
		if o.Request && strings.EqualFold(name, "Host") {
			fail(key, `"Host" is the upstream target's, or the client's with the route's preserve_host`)
			return false
		}
		return true
	}
	queryName := func(key, name string) bool {
		if !o.Query {
			fail(key, "query arguments are not part of a response")
			return false
		}
		if name == "" {
			fail(key, "empty query argument name")
			return false
		}
		return true
	}

	// Headers and query, in the order of the operations.
	for _, n := range cfg.Remove.Headers {
		if header("remove.headers", n) {
			p.headers = append(p.headers, op{kind: opRemove, name: n, bname: []byte(n)})
		}
	}
	for _, n := range cfg.Remove.Query {
		if queryName("remove.query", n) {
			p.query = append(p.query, op{kind: opRemove, name: n, bname: []byte(n)})
		}
	}
	for _, n := range sortedKeys(cfg.Rename.Headers) {
		to := cfg.Rename.Headers[n]
		if header("rename.headers", n) && header("rename.headers", to) {
			p.headers = append(p.headers, op{kind: opRename, name: n, bname: []byte(n), to: to, bto: []byte(to)})
		}
	}
	for _, n := range sortedKeys(cfg.Rename.Query) {
		to := cfg.Rename.Query[n]
		if queryName("rename.query", n) && queryName("rename.query", to) {
			p.query = append(p.query, op{kind: opRename, name: n, bname: []byte(n), to: to, bto: []byte(to)})
		}
	}
	for _, v := range []struct {
		k    kind
		vals *Values
	}{{opReplace, &cfg.Replace}, {opSet, &cfg.Set}, {opAdd, &cfg.Add}, {opAppend, &cfg.Append}} {
		key := kindNames[v.k]
		for _, n := range sortedKeys(v.vals.Headers) {
			if !header(key+".headers", n) {
				continue
			}
			if tp := tmpl(key+".headers", v.vals.Headers[n]); tp != nil {
				o := op{kind: v.k, name: n, bname: []byte(n), value: tp}
				if s, ok := tp.Static(); ok {
					if !config.IsHeaderValue(s) {
						fail(key+".headers", "invalid value of "+strconv.Quote(n))
						continue
					}
					o.static = []byte(s)
				}
				p.headers = append(p.headers, o)
			}
		}
		for _, n := range sortedKeys(v.vals.Query) {
			if !queryName(key+".query", n) {
				continue
			}
			if tp := tmpl(key+".query", v.vals.Query[n]); tp != nil {
				o := op{kind: v.k, name: n, bname: []byte(n), value: tp}
				if s, ok := tp.Static(); ok {
					o.static = []byte(s)
				}
				p.query = append(p.query, o)
			}
		}
	}

	// The body, as one jsonedit program.
	var ops []jsonedit.Op
	var argOf []int // per operation: its index in bodyArgs, -1 for none
	bodyPath := func(key, path string) bool {
		if _, err := jsonedit.ParsePath(path); err != nil {
			fail(key, "path "+strconv.Quote(path)+": "+strings.TrimPrefix(err.Error(), "jsonedit: "))
			return false
		}
		return true
	}
	for _, path := range cfg.Remove.Body {
		if bodyPath("remove.body", path) {
			ops = append(ops, jsonedit.Op{Kind: jsonedit.Remove, Path: path})
			argOf = append(argOf, -1)
		}
	}
	for _, path := range sortedKeys(cfg.Rename.Body) {
		to := cfg.Rename.Body[path]
		if !bodyPath("rename.body", path) {
			continue
		}
		if to == "" {
			fail("rename.body", "new name of "+strconv.Quote(path)+" is empty")
			continue
		}
		ops = append(ops, jsonedit.Op{Kind: jsonedit.Rename, Path: path, To: to})
		argOf = append(argOf, -1)
	}
	for _, v := range []struct {
		k    jsonedit.Kind
		key  string
		vals map[string]any
	}{{jsonedit.Replace, "replace", cfg.Replace.Body}, {jsonedit.Set, "set", cfg.Set.Body},
		{jsonedit.Add, "add", cfg.Add.Body}, {jsonedit.Append, "append", cfg.Append.Body}} {
		key := v.key + ".body"
		flat := map[string]any{}
		flatten("", v.vals, flat)
		for _, path := range sortedKeys(flat) {
			if !bodyPath(key, path) {
				continue
			}
			var val jsonedit.Value
			arg := -1
			switch x := flat[path].(type) {
			case string:
				tp := tmpl(key, x)
				if tp == nil {
					continue
				}
				if s, ok := tp.Static(); ok {
					val = jsonedit.String(s)
				} else {
					arg = len(p.bodyArgs)
					val = jsonedit.Arg(arg)
					p.bodyArgs = append(p.bodyArgs, tp)
				}
			default:
				raw, err := jsonValue(x)
				if err != nil {
					fail(key, "value of "+strconv.Quote(path)+": "+err.Error())
					continue
				}
				val = jsonedit.JSON(raw)
			}
			ops = append(ops, jsonedit.Op{Kind: v.k, Path: path, Value: val})
			argOf = append(argOf, arg)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(ops) > 0 {
		prog, err := jsonedit.Compile(ops)
		if err != nil {
			return nil, t.Problem("body", err.Error())
		}
		p.body = prog
		if len(p.bodyArgs) > 0 {
			for k, o := range ops {
				s := single{arg: argOf[k]}
				if s.arg >= 0 {
					o.Value = jsonedit.Arg(0)
				}
				if s.prog, err = jsonedit.Compile([]jsonedit.Op{o}); err != nil {
					return nil, t.Problem("body", err.Error())
				}
				p.singles = append(p.singles, s)
			}
		}
	}
	return p, nil
}

// flatten turns nested tables into dotted paths.
func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			flatten(path, sub, out)
			continue
		}
		out[path] = v
	}
}

// jsonValue writes a TOML value as JSON; dates become RFC 3339 strings.
func jsonValue(v any) (string, error) {
	b, err := json.Marshal(tomlToJSON(v))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func tomlToJSON(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tomlToJSON(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tomlToJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = tomlToJSON(e)
		}
		return out
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// HasHeaders reports whether the program edits headers.
func (p *Program) HasHeaders() bool { return len(p.headers) > 0 }

// HasQuery reports whether the program edits query arguments.
func (p *Program) HasQuery() bool { return len(p.query) > 0 }

// HasBody reports whether the program edits the JSON body.
func (p *Program) HasBody() bool { return p.body != nil }

// UsesCaptures reports whether a template of the program references a
// capture of the regex (so the caller runs it first).
func (p *Program) UsesCaptures() bool { return p.captures }

// State is what applying a program needs per request: the template
// source, the captures and scratch buffers. Get one with AcquireState and
// give it back with ReleaseState; it belongs to one request.
type State struct {
	Src *Source
	// Captures are the captures of the caller's regex, if any.
	Captures template.Captures
	subject  []byte
	buf      []byte
	ends     []int
	args     [][]byte
	missing  []int
	out      []byte
	out2     []byte
}

// Match runs re on subject (copied first, so that changing the path
// afterwards leaves the captures intact) and reports whether it matched;
// the captures are then in st.Captures (without a match, none). It
// allocates the capture indexes (regexp has no other way).
func (st *State) Match(re *regexp.Regexp, subject []byte) bool {
	st.subject = append(st.subject[:0], subject...)
	idx := re.FindSubmatchIndex(st.subject)
	if idx == nil {
		st.Captures = template.Captures{}
		return false
	}
	st.Captures = template.Captures{Subject: st.subject, Index: idx}
	return true
}

var states = sync.Pool{New: func() any { return new(State) }}

// AcquireState returns a State for the request of c.
func AcquireState(c *plugin.Context) *State {
	st := states.Get().(*State)
	st.Src = AcquireSource(c)
	return st
}

// ReleaseState gives st back; st and what its methods returned must not be
// used afterwards.
func ReleaseState(st *State) {
	ReleaseSource(st.Src)
	st.Src = nil
	st.Captures = template.Captures{}
	st.subject = st.subject[:0]
	st.buf = st.buf[:0]
	st.ends = st.ends[:0]
	clear(st.args)
	st.args = st.args[:0]
	st.missing = st.missing[:0]
	st.out, st.out2 = st.out[:0], st.out2[:0]
	if cap(st.out) > 1<<20 {
		st.out = nil // let a rare large body go
	}
	if cap(st.out2) > 1<<20 {
		st.out2 = nil
	}
	states.Put(st)
}

// Header is what request and response headers have in common.
type Header interface {
	Peek(key string) []byte
	PeekAll(key string) [][]byte
	DelBytes(key []byte)
	SetBytesKV(key, value []byte)
	AddBytesKV(key, value []byte)
}

var (
	_ Header = (*fasthttp.RequestHeader)(nil)
	_ Header = (*fasthttp.ResponseHeader)(nil)
)

type outcome uint8

const (
	valueOK      outcome = iota
	valueMissing         // a reference had no value
	valueInvalid         // the value would split a header
)

// expand returns the value of o for this request, and whether to use it:
// a template with a missing value, or whose value could split a header,
// is skipped (Kong's transformers add nothing for an unset value).
func (st *State) expand(o *op, headerValue bool) ([]byte, outcome) {
	if o.static != nil || o.value == nil {
		return o.static, valueOK
	}
	st.buf = st.buf[:0]
	var complete bool
	st.buf, complete = o.value.Expand(st.buf, st.Src, st.Captures)
	if !complete {
		return nil, valueMissing
	}
	if headerValue && !template.ValidHeaderValue(st.buf) {
		return nil, valueInvalid
	}
	return st.buf, valueOK
}

// ApplyHeaders performs the header operations on h. With keyed (the
// request side, before a cache step), every value that comes from a
// template is added to the request's cache key, name and value, so that
// requests the step sends differently never share a cached response.
func (p *Program) ApplyHeaders(c *plugin.Context, h Header, st *State, keyed bool) {
	for i := range p.headers {
		o := &p.headers[i]
		switch o.kind {
		case opRemove:
			h.DelBytes(o.bname)
			continue
		case opRename:
			vals := h.PeekAll(o.name)
			if len(vals) == 0 {
				continue
			}
			// The values live in h's buffers: copy them before deleting.
			st.buf = st.buf[:0]
			st.ends = st.ends[:0]
			for _, v := range vals {
				st.buf = append(st.buf, v...)
				st.ends = append(st.ends, len(st.buf))
			}
			h.DelBytes(o.bname)
			h.DelBytes(o.bto)
			start := 0
			for _, end := range st.ends {
				h.AddBytesKV(o.bto, st.buf[start:end])
				start = end
			}
			continue
		}
		present := len(h.Peek(o.name)) > 0
		if o.kind == opReplace && !present || o.kind == opAdd && present {
			continue
		}
		v, res := st.expand(o, true)
		if res == valueInvalid {
			p.logBadValue(c, o)
		}
		if res != valueOK {
			continue
		}
		if keyed && o.static == nil {
			p.addKey(c, st, o.bname, v)
		}
		if o.kind == opAppend {
			h.AddBytesKV(o.bname, v)
		} else {
			h.SetBytesKV(o.bname, v)
		}
	}
}

// addKey adds "name: value" to c's cache key. v may alias st.buf.
func (p *Program) addKey(c *plugin.Context, st *State, name, v []byte) {
	n := len(st.buf)
	st.buf = append(st.buf, name...)
	st.buf = append(st.buf, ':', ' ')
	// v is st.buf[:n] or a static value: either way still intact.
	st.buf = append(st.buf, v...)
	c.AddCacheKey(st.buf[n:])
}

func (p *Program) logBadValue(c *plugin.Context, o *op) {
	if ok, dropped := p.badValue.Allow(time.Now()); ok {
		c.LogAttrs(slog.LevelWarn, "header value from a template holds a line break or NUL: header not set",
			slog.String("header", o.name), slog.Int64("dropped_since_last", dropped))
	}
}

// ApplyQuery performs the query operations on args. With keyed, values
// from templates are added to the cache key (see ApplyHeaders).
func (p *Program) ApplyQuery(c *plugin.Context, args *fasthttp.Args, st *State, keyed bool) {
	for i := range p.query {
		o := &p.query[i]
		switch o.kind {
		case opRemove:
			args.DelBytes(o.bname)
			continue
		case opRename:
			if !args.HasBytes(o.bname) {
				continue
			}
			st.buf = st.buf[:0]
			st.ends = st.ends[:0]
			for k, v := range args.All() {
				if string(k) == o.name {
					st.buf = append(st.buf, v...)
					st.ends = append(st.ends, len(st.buf))
				}
			}
			args.DelBytes(o.bname)
			args.DelBytes(o.bto)
			start := 0
			for _, end := range st.ends {
				args.AddBytesKV(o.bto, st.buf[start:end])
				start = end
			}
			continue
		}
		present := args.HasBytes(o.bname)
		if o.kind == opReplace && !present || o.kind == opAdd && present {
			continue
		}
		v, res := st.expand(o, false)
		if res != valueOK {
			continue
		}
		if keyed && o.static == nil {
			p.addKey(c, st, o.bname, v)
		}
		if o.kind == opAppend {
			args.AddBytesKV(o.bname, v)
		} else {
			args.SetBytesKV(o.bname, v)
		}
	}
}

// ApplyBody returns body with the body operations performed, in a buffer
// of st (valid until ReleaseState). An operation whose template has no
// value on this request (a header it names is absent) is skipped, as for
// headers. An error means the body is not JSON that can be edited
// (malformed, too deep, or a bare string or number): the caller leaves
// the body as it was.
func (p *Program) ApplyBody(body []byte, st *State) ([]byte, error) {
	st.buf = st.buf[:0]
	st.ends = st.ends[:0]
	st.missing = st.missing[:0]
	for i, t := range p.bodyArgs {
		var complete bool
		st.buf, complete = t.Expand(st.buf, st.Src, st.Captures)
		st.ends = append(st.ends, len(st.buf))
		if !complete {
			st.missing = append(st.missing, i)
		}
	}
	st.args = st.args[:0]
	start := 0
	for _, end := range st.ends {
		st.args = append(st.args, st.buf[start:end])
		start = end
	}
	if len(st.missing) == 0 {
		out, err := p.body.Apply(st.out[:0], body, st.args)
		st.out = out
		return out, err
	}
	// Slow path: the operations one by one, without those whose value is
	// missing.
	cur := body
	for _, s := range p.singles {
		var arg [][]byte
		if s.arg >= 0 {
			if slices.Contains(st.missing, s.arg) {
				continue
			}
			arg = st.args[s.arg : s.arg+1]
		}
		out, err := s.prog.Apply(st.out2[:0], cur, arg)
		if err != nil {
			return nil, err
		}
		st.out2 = out
		st.out, st.out2 = st.out2, st.out
		cur = st.out
	}
	st.out = append(st.out[:0], cur...)
	return st.out, nil
}

// LogBadBody logs, at most once per interval, that a body could not be
// edited (what and why); it never contains the body.
func (p *Program) LogBadBody(c *plugin.Context, what string, err error) {
	if ok, dropped := p.badBody.Allow(time.Now()); ok {
		attrs := []slog.Attr{slog.String("reason", what), slog.Int64("dropped_since_last", dropped)}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		c.LogAttrs(slog.LevelWarn, "body passed through unedited", attrs...)
	}
}
