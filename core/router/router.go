package router

import (
	"errors"
	"sort"
	"strings"

	"github.com/moongate/moongate/core/httpbytes"
)

// Route is what the router is built from: one configured route.
type Route struct {
	// ID is returned by Match for this route; the router does not interpret it.
	ID int
	// Hosts are exact lower-case names or "*.example.com"; empty means any host.
	Hosts []string
	// Paths are exact, prefix (ending in "/") or with {param} segments.
	Paths []string
	// Methods are upper-case method names; empty means any method.
	Methods []string
}

// Result says how a request matched.
type Result int

// The outcomes of Match.
const (
	Found            Result = iota // a route matched; its ID is returned
	NotFound                       // no route matches the host and path
	MethodNotAllowed               // routes match the path, none the method
)

// Router is an immutable, compiled set of routes, safe for concurrent use.
type Router struct {
	exact     map[string]*table // by host
	wildcards []wildcard        // longest suffix first
	any       *table            // routes without hosts
	hostless  bool              // no route names a host: skip host handling
}

type wildcard struct {
	suffix string // ".example.com"
	t      *table
}

// table holds the patterns of one host group.
type table struct {
	exact    map[string][]*entry // literal paths
	params   group               // exact-length patterns with parameters
	prefixes group               // prefix patterns, with or without parameters
}

// group indexes patterns by their leading literal segments, in a tree:
// the node reached by following a request path's first segments holds the
// patterns whose literal segments before their first parameter (or their
// end) are exactly those, so that a request only looks at the patterns
// that can match it, however many routes share a first segment ("/v1/").
// Patterns with more than maxIndexDepth leading literal segments stay at
// the node of depth maxIndexDepth. Each node's list is kept in precedence
// order, and the lists along the path are walked merged.
type group struct {
	root node
}

// maxIndexDepth is the depth of the index tree of a group.
const maxIndexDepth = 8

type node struct {
	children map[string]*node // by literal segment
	entries  []*entry         // patterns that end or have a parameter here
}

func (g *group) add(e *entry) {
	n := &g.root
	for d := 0; d < len(e.segs) && d < maxIndexDepth && e.segs[d].param == ""; d++ {
		c := n.children[e.segs[d].lit]
		if c == nil {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			c = &node{}
			n.children[e.segs[d].lit] = c
		}
		n = c
	}
	n.entries = append(n.entries, e)
}

func (g *group) sort() { g.root.sort() }

func (n *node) sort() {
	sortEntries(n.entries)
	for _, c := range n.children {
		c.sort()
	}
}

func sortEntries(es []*entry) {
	sort.SliceStable(es, func(i, j int) bool { return more(es[i], es[j]) })
}

// candidates are the lists of a group's patterns that may match a path,
// walked merged in precedence order by next. The zero value is empty.
type candidates struct {
	lists [maxIndexDepth + 1][]*entry
	n     int
}

// candidates fills cs with the lists of the nodes along path.
func (g *group) candidates(path []byte, cs *candidates) {
	cs.n = 0
	n := &g.root
	if len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	for d := 0; ; d++ {
		if len(n.entries) > 0 {
			cs.lists[cs.n] = n.entries
			cs.n++
		}
		if d == maxIndexDepth || len(n.children) == 0 {
			return
		}
		end := indexSlash(path)
		if n = n.children[string(path[:end])]; n == nil {
			return
		}
		if end == len(path) {
			path = path[end:]
		} else {
			path = path[end+1:]
		}
	}
}

// next returns the candidate of highest precedence not yet returned, nil
// when there are none left.
func (cs *candidates) next() *entry {
	best := -1
	for i := 0; i < cs.n; i++ {
		if len(cs.lists[i]) > 0 && (best < 0 || more(cs.lists[i][0], cs.lists[best][0])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	e := cs.lists[best][0]
	cs.lists[best] = cs.lists[best][1:]
	return e
}

type entry struct {
	id      int
	order   int // position in the configuration, for ties
	methods methods
	segs    []segment // nil for literal paths in the exact map
	literal string    // for prefix entries without parameters: the prefix
	prefix  bool
}

type segment struct {
	lit   string // literal segment text, when param == ""
	param string // parameter name
}

// New compiles routes into a Router. Routes must already be valid (see
// config.CheckPathPattern); New reports what it cannot compile.
func New(routes []Route) (*Router, error) {
	r := &Router{exact: map[string]*table{}, any: newTable(), hostless: true}
	order := 0
	for _, rt := range routes {
		ms := newMethods(rt.Methods)
		var tables []*table
		if len(rt.Hosts) == 0 {
			tables = append(tables, r.any)
		}
		for _, h := range rt.Hosts {
			r.hostless = false
			if suffix, ok := strings.CutPrefix(h, "*"); ok {
				tables = append(tables, r.wildcardTable(suffix))
			} else {
				t := r.exact[h]
				if t == nil {
					t = newTable()
					r.exact[h] = t
				}
				tables = append(tables, t)
			}
		}
		for _, p := range rt.Paths {
			if !strings.HasPrefix(p, "/") {
				return nil, errors.New("router: path must start with /: " + p)
			}
			order++
			for _, t := range tables {
				t.add(&entry{id: rt.ID, order: order, methods: ms}, p)
			}
		}
	}
	sort.SliceStable(r.wildcards, func(i, j int) bool { return len(r.wildcards[i].suffix) > len(r.wildcards[j].suffix) })
	for _, t := range r.tables() {
		t.sort()
	}
	return r, nil
}

func newTable() *table { return &table{exact: map[string][]*entry{}} }

func (r *Router) wildcardTable(suffix string) *table {
	for _, w := range r.wildcards {
		if w.suffix == suffix {
			return w.t
		}
	}
	t := newTable()
	r.wildcards = append(r.wildcards, wildcard{suffix: suffix, t: t})
	return t
}

func (r *Router) tables() []*table {
	ts := []*table{r.any}
	for _, t := range r.exact {
		ts = append(ts, t)
	}
	for _, w := range r.wildcards {
		ts = append(ts, w.t)
	}
	return ts
}

func (t *table) add(e *entry, p string) {
	prefix := strings.HasSuffix(p, "/")
	if !strings.Contains(p, "{") {
		if prefix {
			e.prefix, e.literal = true, p
			e.segs = splitPattern(p)
			t.prefixes.add(e)
		} else {
			t.exact[p] = append(t.exact[p], e)
		}
		return
	}
	e.segs = splitPattern(p)
	e.prefix = prefix
	if prefix {
		t.prefixes.add(e)
	} else {
		t.params.add(e)
	}
}

func splitPattern(p string) []segment {
	p = strings.Trim(p, "/")
	if p == "" {
		return []segment{}
	}
	parts := strings.Split(p, "/")
	segs := make([]segment, len(parts))
	for i, s := range parts {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i].param = s[1 : len(s)-1]
		} else {
			segs[i].lit = s
		}
	}
	return segs
}

// more reports whether a beats b: more segments, then the first segment
// where one is literal and the other a parameter, then configuration order.
func more(a, b *entry) bool {
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	for i := range a.segs {
		al, bl := a.segs[i].param == "", b.segs[i].param == ""
		if al != bl {
			return al
		}
	}
	if len(a.literal) != len(b.literal) {
		return len(a.literal) > len(b.literal)
	}
	return a.order < b.order
}

func (t *table) sort() {
	t.params.sort()
	t.prefixes.sort()
	for _, es := range t.exact {
		sort.SliceStable(es, func(i, j int) bool { return es[i].order < es[j].order })
	}
}

// Match finds the route for a request. host is the Host header (any case,
// with or without port), path the normalized path. Parameters of the
// matched route are stored in ps, which is reset first. On
// MethodNotAllowed, use Allowed to build the Allow header.
func (r *Router) Match(method, host, path []byte, ps *Params) (id int, res Result) {
	ps.Reset()
	res = NotFound
	if !r.hostless {
		var buf [256]byte
		h := hostKey(buf[:0], host)
		if t := r.exact[string(h)]; t != nil {
			if id, res = t.match(method, path, ps); res == Found {
				return id, res
			}
		}
		for _, w := range r.wildcards {
			if len(h) > len(w.suffix) && string(h[len(h)-len(w.suffix):]) == w.suffix {
				id, res2 := w.t.match(method, path, ps)
				if res2 == Found {
					return id, res2
				}
				if res2 == MethodNotAllowed {
					res = res2
				}
			}
		}
	}
	id, res2 := r.any.match(method, path, ps)
	if res2 == Found || res == NotFound {
		return id, res2
	}
	return -1, res
}

// hostKey lower-cases host and strips its port into dst.
func hostKey(dst, host []byte) []byte {
	end := len(host)
	if i := httpbytes.PortColon(host); i >= 0 {
		end = i
	}
	if end > 0 && host[end-1] == '.' { // "example.com." is example.com
		end--
	}
	return httpbytes.AppendLower(dst, host[:end])
}

func (t *table) match(method, path []byte, ps *Params) (int, Result) {
	m := methodBit(method)
	res := NotFound
	if es, ok := t.exact[string(path)]; ok {
		for _, e := range es {
			if e.methods.has(m, method) {
				return e.id, Found
			}
		}
		res = MethodNotAllowed
	}
	var cs candidates
	t.params.candidates(path, &cs)
	for e := cs.next(); e != nil; e = cs.next() {
		if matchSegments(e.segs, path, false, ps) {
			if e.methods.has(m, method) {
				return e.id, Found
			}
			res = MethodNotAllowed
		}
		ps.Reset()
	}
	t.prefixes.candidates(path, &cs)
	for e := cs.next(); e != nil; e = cs.next() {
		if e.matchPrefix(path, ps) {
			if e.methods.has(m, method) {
				return e.id, Found
			}
			res = MethodNotAllowed
		}
		ps.Reset()
	}
	return -1, res
}

func (e *entry) matchPrefix(path []byte, ps *Params) bool {
	if e.literal == "" {
		return matchSegments(e.segs, path, true, ps)
	}
	return hasPrefix(path, e.literal)
}

// hasPrefix reports whether path is under prefix p (which ends in "/"), or
// is p without its final slash.
func hasPrefix(path []byte, p string) bool {
	if len(path) >= len(p) {
		return string(path[:len(p)]) == p
	}
	return len(path) == len(p)-1 && string(path) == p[:len(p)-1]
}

// matchSegments matches path against segs; with prefix, path may go on
// after the last segment.
func matchSegments(segs []segment, path []byte, prefix bool, ps *Params) bool {
	rest := path
	if len(rest) > 0 && rest[0] == '/' {
		rest = rest[1:]
	}
	for _, s := range segs {
		if len(rest) == 0 {
			return false
		}
		end := indexSlash(rest)
		seg := rest[:end]
		if s.param == "" {
			if string(seg) != s.lit {
				return false
			}
		} else {
			if len(seg) == 0 {
				return false
			}
			ps.add(s.param, seg)
		}
		if end < len(rest) {
			rest = rest[end+1:]
			if !prefix && len(rest) == 0 {
				// A trailing slash after the last segment makes another path.
				return false
			}
		} else {
			rest = rest[end:]
		}
	}
	return prefix || len(rest) == 0
}

func indexSlash(b []byte) int {
	for i, c := range b {
		if c == '/' {
			return i
		}
	}
	return len(b)
}

// Allowed returns the methods of the routes that match host and path, for
// the Allow header of a 405 answer. It allocates; use it on that path only.
func (r *Router) Allowed(host, path []byte) []string {
	var ps Params
	var out []string
	seen := map[string]bool{}
	collect := func(t *table) {
		for _, m := range t.methodsFor(path, &ps) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	if !r.hostless {
		h := string(hostKey(nil, host))
		if t := r.exact[h]; t != nil {
			collect(t)
		}
		for _, w := range r.wildcards {
			if len(h) > len(w.suffix) && strings.HasSuffix(h, w.suffix) {
				collect(w.t)
			}
		}
	}
	collect(r.any)
	sort.Strings(out)
	return out
}

func (t *table) methodsFor(path []byte, ps *Params) []string {
	var out []string
	for _, e := range t.exact[string(path)] {
		out = append(out, e.methods.names()...)
	}
	var cs candidates
	t.params.candidates(path, &cs)
	for e := cs.next(); e != nil; e = cs.next() {
		if matchSegments(e.segs, path, false, ps) {
			out = append(out, e.methods.names()...)
		}
		ps.Reset()
	}
	t.prefixes.candidates(path, &cs)
	for e := cs.next(); e != nil; e = cs.next() {
		if e.matchPrefix(path, ps) {
			out = append(out, e.methods.names()...)
		}
		ps.Reset()
	}
	return out
}
