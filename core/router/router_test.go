package router

import (
	"reflect"
	"testing"
)

func mustNew(t testing.TB, routes []Route) *Router {
	t.Helper()
	r, err := New(routes)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPrecedence(t *testing.T) {
	// IDs name the winner in the table below; routes are written in an
	// order that would give other answers if order decided.
	r := mustNew(t, []Route{
		{ID: 0, Paths: []string{"/"}},
		{ID: 1, Paths: []string{"/users/"}},
		{ID: 2, Paths: []string{"/users/{id}"}},
		{ID: 3, Paths: []string{"/users/me"}},
		{ID: 4, Paths: []string{"/users/{id}/posts/"}},
		{ID: 5, Paths: []string{"/users/{id}/posts/{post}"}},
		{ID: 6, Paths: []string{"/{any}/{id}/posts/{post}"}},
		{ID: 7, Paths: []string{"/api/"}},
		{ID: 8, Paths: []string{"/api/v1/"}},
		{ID: 9, Paths: []string{"/health"}},
	})
	for _, tc := range []struct {
		path   string
		want   int
		params map[string]string
	}{
		{"/users/me", 3, nil},
		{"/users/42", 2, map[string]string{"id": "42"}},
		{"/users/42/", 1, nil}, // a trailing slash is another path: only the prefix matches
		{"/users/42/posts/7", 5, map[string]string{"id": "42", "post": "7"}},
		{"/things/42/posts/7", 6, map[string]string{"any": "things", "id": "42", "post": "7"}},
		{"/users/42/posts/7/comments", 4, map[string]string{"id": "42"}},
		{"/users/", 1, nil},
		{"/users", 1, nil}, // a prefix matches itself without the final slash
		{"/usersx", 0, nil},
		{"/api/v1/x", 8, nil},
		{"/api/v2/x", 7, nil},
		{"/api", 7, nil},
		{"/health", 9, nil},
		{"/health/", 0, nil},
		{"/", 0, nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var ps Params
			id, res := r.Match([]byte("GET"), []byte("x"), []byte(tc.path), &ps)
			if res != Found || id != tc.want {
				t.Fatalf("got route %d (%v), want %d", id, res, tc.want)
			}
			got := map[string]string{}
			for i := 0; i < ps.Len(); i++ {
				n, v := ps.At(i)
				got[n] = string(v)
			}
			if tc.params == nil {
				tc.params = map[string]string{}
			}
			if !reflect.DeepEqual(got, tc.params) {
				t.Errorf("got params %v, want %v", got, tc.params)
			}
		})
	}
}

func TestEqualRoutesFirstWritten(t *testing.T) {
	r := mustNew(t, []Route{{ID: 0, Paths: []string{"/a/{x}"}}, {ID: 1, Paths: []string{"/a/{y}"}}})
	var ps Params
	if id, _ := r.Match([]byte("GET"), nil, []byte("/a/b"), &ps); id != 0 {
		t.Errorf("got %d, want the first written (0)", id)
	}
}

func TestHosts(t *testing.T) {
	r := mustNew(t, []Route{
		{ID: 0, Paths: []string{"/"}},
		{ID: 1, Hosts: []string{"*.example.com"}, Paths: []string{"/"}},
		{ID: 2, Hosts: []string{"*.api.example.com"}, Paths: []string{"/"}},
		{ID: 3, Hosts: []string{"api.example.com"}, Paths: []string{"/v1/"}},
	})
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"api.example.com", "/v1/x", 3},
		{"API.Example.COM:8080", "/v1/x", 3},
		{"api.example.com.", "/v1/x", 3},
		{"api.example.com", "/other", 1}, // falls back to the wildcard
		{"eu.api.example.com", "/v1/x", 2},
		{"www.example.com", "/", 1},
		{"example.com", "/", 0}, // "*.example.com" needs a label before the suffix
		{"evilexample.com", "/", 0},
		{"other.org", "/", 0},
		{"[::1]:8080", "/", 0},
	} {
		var ps Params
		id, res := r.Match([]byte("GET"), []byte(tc.host), []byte(tc.path), &ps)
		if res != Found || id != tc.want {
			t.Errorf("%s%s: got %d (%v), want %d", tc.host, tc.path, id, res, tc.want)
		}
	}
}

func TestMethods(t *testing.T) {
	r := mustNew(t, []Route{
		{ID: 0, Paths: []string{"/items"}, Methods: []string{"GET", "HEAD"}},
		{ID: 1, Paths: []string{"/items"}, Methods: []string{"POST"}},
		{ID: 2, Paths: []string{"/custom"}, Methods: []string{"PURGE"}},
		{ID: 3, Paths: []string{"/any/"}},
	})
	var ps Params
	check := func(method, path string, want int, wantRes Result) {
		t.Helper()
		id, res := r.Match([]byte(method), nil, []byte(path), &ps)
		if res != wantRes || (res == Found && id != want) {
			t.Errorf("%s %s: got %d (%v), want %d (%v)", method, path, id, res, want, wantRes)
		}
	}
	check("GET", "/items", 0, Found)
	check("POST", "/items", 1, Found)
	check("DELETE", "/items", -1, MethodNotAllowed)
	check("PURGE", "/custom", 2, Found)
	check("GET", "/custom", -1, MethodNotAllowed)
	check("BREW", "/any/pot", 3, Found)
	check("GET", "/nothing", -1, NotFound)
	if got := r.Allowed(nil, []byte("/items")); !reflect.DeepEqual(got, []string{"GET", "HEAD", "POST"}) {
		t.Errorf("Allowed = %v", got)
	}
}

func TestMethodMismatchFallsThroughToOtherRoutes(t *testing.T) {
	r := mustNew(t, []Route{
		{ID: 0, Paths: []string{"/"}},
		{ID: 1, Paths: []string{"/users/{id}"}, Methods: []string{"GET"}},
	})
	var ps Params
	if id, res := r.Match([]byte("DELETE"), nil, []byte("/users/1"), &ps); res != Found || id != 0 {
		t.Errorf("got %d (%v), want the catch-all", id, res)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	r := mustNew(t, []Route{
		{ID: 0, Hosts: []string{"api.example.com"}, Paths: []string{"/users/{id}"}},
		{ID: 1, Paths: []string{"/static/"}},
		{ID: 2, Paths: []string{"/health"}},
	})
	var ps Params
	method, host := []byte("GET"), []byte("API.example.com:443")
	for _, p := range []string{"/users/42", "/static/app.js", "/health", "/nope"} {
		path := []byte(p)
		if n := testing.AllocsPerRun(200, func() { r.Match(method, host, path, &ps) }); n != 0 {
			t.Errorf("%s: %v allocs per match, want 0", p, n)
		}
	}
}

// examined counts the patterns with parameters and the prefixes a lookup
// of path walks in the routes without hosts.
func examined(r *Router, path string) int {
	total := 0
	var cs candidates
	for _, g := range []*group{&r.any.params, &r.any.prefixes} {
		g.candidates([]byte(path), &cs)
		for cs.next() != nil {
			total++
		}
	}
	return total
}

// TestLookupWorkDoesNotGrowWithRoutes: with 10 000 routes that all start
// with /v1/, a lookup looks at the few patterns that share the request's
// literal segments, not at every route under /v1/ (it looked at up to
// 6 667 of them: ~70 µs a lookup).
func TestLookupWorkDoesNotGrowWithRoutes(t *testing.T) {
	const n = 10000
	r := mustNew(t, scaleRoutes(n))
	var ps Params
	for _, i := range []int{0, 1, 2, n / 2, n - 3, n - 2, n - 1} {
		if i%50 == 49 {
			continue
		}
		path := scaleRequest(i)
		if id, res := r.Match([]byte("GET"), []byte("api.example.com"), []byte(path), &ps); res != Found || id != i {
			t.Fatalf("%s: route %d (%v), want %d", path, id, res, i)
		}
		if got := examined(r, path); got > 2 {
			t.Errorf("%s: %d patterns examined, want at most 2", path, got)
		}
	}
	if got := examined(r, "/v1/nothing/here"); got > 0 {
		t.Errorf("miss: %d patterns examined, want 0", got)
	}
}
