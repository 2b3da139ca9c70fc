package router

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
)

// FuzzRouter builds a router from a fuzzed route table and matches a
// fuzzed request against it. Besides never panicking, Match must agree
// with a naive reading of the routing rules of the README (host classes,
// then exact > parameters > prefix, more segments, literal before
// parameter, first written), be deterministic, and return parameters that
// are the path's own segments.
//
// The route table is one route per line: "hosts methods paths", each a
// comma-separated list, "-" for an empty list. Paths that config would
// refuse are dropped, as config refuses them before the router is built.
func FuzzRouter(f *testing.F) {
	table := strings.Join([]string{
		"- - /",
		"- - /users/",
		"- GET,HEAD /users/{id}",
		"- - /users/me",
		"- - /users/{id}/posts/",
		"- POST /users/{id}/posts/{post}",
		"- - /{any}/{id}/posts/{post}",
		"- - /api/,/api/v1/",
		"api.example.com - /v1/,/health",
		"*.example.com DELETE /",
		"*.api.example.com PURGE /{x}/",
	}, "\n")
	for _, tc := range []struct{ method, host, path string }{
		{"GET", "x", "/users/me"},
		{"GET", "x", "/users/42"},
		{"GET", "x", "/users/42/"},
		{"POST", "x", "/users/42/posts/7"},
		{"GET", "x", "/things/42/posts/7"},
		{"GET", "x", "/users/42/posts/7/comments"},
		{"GET", "x", "/users"},
		{"GET", "x", "/usersx"},
		{"GET", "x", "/api"},
		{"GET", "x", "/api/v1"},
		{"DELETE", "API.Example.COM:8080", "/v1/x"},
		{"DELETE", "api.example.com.", "/other"},
		{"PURGE", "eu.api.example.com", "/v1/x"},
		{"PURGE", "eu.api.example.com", "/"},
		{"GET", "example.com", "/"},
		{"GET", "[::1]:8080", "/"},
		{"BREW", "x", "//users//42"},
		{"GET", "x", "/users/%2e%2e"},
		{"GET", strings.Repeat("h", 300) + ".example.com", "/"},
		{"GET", "x", "/" + strings.Repeat("a/", 40)},
	} {
		f.Add(table, tc.method, tc.host, tc.path)
	}
	f.Add("- GET /a/{b}\n- POST /a/{c}", "PUT", "", "/a/x")
	f.Add("- - /a/{x}\n- - /a/{y}", "GET", "", "/a/b")
	f.Add("- - /{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}/{k}/{l}/{m}/{n}/{o}/{p}/{q}/{r}/", "GET", "", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19")

	f.Fuzz(func(t *testing.T, table, method, host, path string) {
		routes := parseTable(table)
		if !strings.HasPrefix(path, "/") {
			path = "/" + path // the gateway only routes normalized paths
		}
		r, err := New(routes)
		if err != nil {
			t.Fatalf("New refused valid routes %+v: %v", routes, err)
		}
		var ps Params
		id, res := r.Match([]byte(method), []byte(host), []byte(path), &ps)
		got := snapshot(id, res, &ps)

		// Deterministic: again on the same router, and on a new one.
		var ps2 Params
		id2, res2 := r.Match([]byte(method), []byte(host), []byte(path), &ps2)
		if again := snapshot(id2, res2, &ps2); again != got {
			t.Fatalf("second match differs: %s then %s", got, again)
		}
		r2, _ := New(routes)
		id2, res2 = r2.Match([]byte(method), []byte(host), []byte(path), &ps2)
		if again := snapshot(id2, res2, &ps2); again != got {
			t.Fatalf("a router built again from the same routes differs: %s then %s", got, again)
		}

		// Parameters are non-empty segments of the path.
		for i := 0; i < ps.Len(); i++ {
			name, v := ps.At(i)
			if len(v) == 0 || bytes.IndexByte(v, '/') >= 0 || !strings.Contains(path, string(v)) {
				t.Fatalf("parameter %s = %q is not a segment of %q", name, v, path)
			}
		}

		want := oracle(routes, method, host, path)
		if want.String() != got {
			t.Fatalf("routes:\n%s\n%s %s%s: got %s, want %s", table, method, host, path, got, want)
		}
		if res == MethodNotAllowed {
			allow := r.Allowed([]byte(host), []byte(path))
			if len(allow) == 0 || slices.Contains(allow, method) {
				t.Fatalf("405 for %s with Allow %v", method, allow)
			}
		}
	})
}

func parseTable(table string) []Route {
	var routes []Route
	for i, line := range strings.Split(table, "\n") {
		if i == 12 {
			break
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			continue
		}
		rt := Route{ID: len(routes)}
		for _, h := range list(fields[0]) {
			if validHost(h) {
				rt.Hosts = append(rt.Hosts, h)
			}
		}
		for _, m := range list(fields[1]) {
			if m != "" && strings.Trim(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
				rt.Methods = append(rt.Methods, m)
			}
		}
		for _, p := range list(fields[2]) {
			if config.CheckPathPattern(p) == "" && len(rt.Paths) < 6 {
				rt.Paths = append(rt.Paths, p)
			}
		}
		if len(rt.Paths) > 0 {
			routes = append(routes, rt)
		}
	}
	return routes
}

func list(s string) []string {
	if s == "-" {
		return nil
	}
	return strings.Split(s, ",")
}

// validHost is config's rule for route hosts.
func validHost(h string) bool {
	name := strings.TrimPrefix(h, "*.")
	return name != "" && !strings.ContainsAny(name, "*/: ") && strings.ToLower(h) == h
}

type outcome struct {
	id     int
	res    Result
	params string
}

func (o outcome) String() string {
	switch o.res {
	case Found:
		return "route " + strconv.Itoa(o.id) + " " + o.params
	case MethodNotAllowed:
		return "405"
	}
	return "404"
}

func snapshot(id int, res Result, ps *Params) string {
	o := outcome{id: id, res: res}
	for i := 0; i < ps.Len(); i++ {
		n, v := ps.At(i)
		o.params += n + "=" + string(v) + ";"
	}
	return o.String()
}

// candidate is a (route, path) pair that matches a request's path.
type candidate struct {
	id, order int
	kind      int // 0 exact, 1 parameters, 2 prefix
	segs      []string
	params    string
	methods   []string
}

// oracle answers a request by the README's rules, the slow way.
func oracle(routes []Route, method, host, path string) outcome {
	h := host
	if i := strings.LastIndexByte(h, ':'); i > strings.LastIndexByte(h, ']') {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	h = asciiLower(h)

	// Host classes, most specific first: the exact host, wildcards by
	// longer suffix, routes without hosts.
	var classes [][]Route
	var exact []Route
	suffixes := map[string][]Route{}
	var any []Route
	for _, rt := range routes {
		if len(rt.Hosts) == 0 {
			any = append(any, rt)
		}
		for _, x := range rt.Hosts {
			if suffix, ok := strings.CutPrefix(x, "*"); ok {
				if len(h) > len(suffix) && strings.HasSuffix(h, suffix) {
					suffixes[suffix] = append(suffixes[suffix], rt)
				}
			} else if x == h {
				exact = append(exact, rt)
			}
		}
	}
	classes = append(classes, exact)
	keys := make([]string, 0, len(suffixes))
	for k := range suffixes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	for _, k := range keys {
		classes = append(classes, suffixes[k])
	}
	classes = append(classes, any)

	orders := map[[2]int]int{} // (route, path index) -> position in the file
	n := 0
	for _, rt := range routes {
		for j := range rt.Paths {
			n++
			orders[[2]int{rt.ID, j}] = n
		}
	}

	pathMatched := false
	for _, class := range classes {
		var best *candidate
		for _, rt := range class {
			for j, p := range rt.Paths {
				c, ok := matchPattern(p, path)
				if !ok {
					continue
				}
				pathMatched = true
				if len(rt.Methods) > 0 && !slices.Contains(rt.Methods, method) {
					continue
				}
				c.id, c.order = rt.ID, orders[[2]int{rt.ID, j}]
				if best == nil || beats(&c, best) {
					cc := c
					best = &cc
				}
			}
		}
		if best != nil {
			return outcome{id: best.id, res: Found, params: best.params}
		}
	}
	if pathMatched {
		return outcome{id: -1, res: MethodNotAllowed}
	}
	return outcome{id: -1, res: NotFound}
}

func beats(a, b *candidate) bool {
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	for i := range a.segs {
		al, bl := !isParam(a.segs[i]), !isParam(b.segs[i])
		if al != bl {
			return al
		}
	}
	return a.order < b.order
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") }

// matchPattern matches path against route path p, reading the rules
// literally: exact, prefix ("/api/" also matches "/api"), or whole
// segments with {param}s, of which the first MaxParams are kept.
func matchPattern(p, path string) (candidate, bool) {
	prefix := strings.HasSuffix(p, "/")
	var c candidate
	if strings.Trim(p, "/") != "" {
		c.segs = strings.Split(strings.Trim(p, "/"), "/")
	}
	if !strings.Contains(p, "{") {
		if !prefix {
			return c, path == p
		}
		c.kind = 2
		return c, path == p[:len(p)-1] || strings.HasPrefix(path, p)
	}
	rest := path[1:]
	var segs []string
	if prefix {
		c.kind = 2
		segs = strings.SplitN(rest, "/", len(c.segs)+1)
		if len(segs) < len(c.segs) {
			return c, false
		}
	} else {
		c.kind = 1
		segs = strings.Split(rest, "/")
		if len(segs) != len(c.segs) {
			return c, false
		}
	}
	kept := 0
	for i, s := range c.segs {
		if !isParam(s) {
			if segs[i] != s {
				return c, false
			}
			continue
		}
		if segs[i] == "" {
			return c, false
		}
		if kept < MaxParams {
			c.params += s[1:len(s)-1] + "=" + segs[i] + ";"
			kept++
		}
	}
	return c, true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
