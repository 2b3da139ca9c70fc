package router

import (
	"runtime"
	"strconv"
	"testing"
)

func BenchmarkMatch(b *testing.B) {
	var routes []Route
	for i := 0; i < 50; i++ {
		routes = append(routes, Route{ID: len(routes), Paths: []string{"/svc" + strconv.Itoa(i) + "/"}})
		routes = append(routes, Route{ID: len(routes), Paths: []string{"/svc" + strconv.Itoa(i) + "/items/{id}"}})
	}
	routes = append(routes, Route{ID: len(routes), Paths: []string{"/health"}})
	r := mustNew(b, routes)
	for _, tc := range []struct{ name, path string }{
		{"exact", "/health"}, {"param", "/svc25/items/42"}, {"prefix", "/svc49/other/x"}, {"miss", "/zzz"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var ps Params
			m, p := []byte("GET"), []byte(tc.path)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r.Match(m, nil, p, &ps)
			}
		})
	}
}

// scaleRoutes returns n routes, as a large configuration would have them:
// a third exact paths (/v1/res<i>/status), a third prefixes
// (/v1/res<i>/files/), a third with parameters (/v1/res<i>/{id}/orders),
// and every 50th route bound to a host of its own (tenant<i>.example.com).
// All of them share the first segment, as an API's routes usually do.
func scaleRoutes(n int) []Route {
	routes := make([]Route, n)
	for i := range routes {
		routes[i] = Route{ID: i, Paths: []string{scalePath(i)}}
		if i%50 == 49 {
			routes[i].Hosts = []string{"tenant" + strconv.Itoa(i) + ".example.com"}
		}
	}
	return routes
}

// scalePath is the path pattern of route i of scaleRoutes.
func scalePath(i int) string {
	res := "/v1/res" + strconv.Itoa(i)
	switch i % 3 {
	case 0:
		return res + "/status"
	case 1:
		return res + "/files/"
	}
	return res + "/{id}/orders"
}

// scaleRequest is a request path that route i of scaleRoutes matches.
func scaleRequest(i int) string {
	res := "/v1/res" + strconv.Itoa(i)
	switch i % 3 {
	case 0:
		return res + "/status"
	case 1:
		return res + "/files/a/b.txt"
	}
	return res + "/42/orders"
}

// scaleLookups are the requests of BenchmarkMatchScale for n routes: the
// first, middle and last route added of each kind, a host-bound route and
// a miss.
func scaleLookups(n int) []struct {
	name, host, path string
	want             int
} {
	type lookup = struct {
		name, host, path string
		want             int
	}
	var out []lookup
	for k, kind := range []string{"exact", "prefix", "param"} {
		last := (n-1-k)/3*3 + k // the last route of this kind
		for _, at := range []struct {
			name string
			i    int
		}{{"first", k}, {"middle", (n/2)/3*3 + k}, {"last", last}} {
			i := at.i
			if i%50 == 49 { // host-bound: take the next one of its kind
				i -= 3
			}
			out = append(out, lookup{kind + "/" + at.name, "api.example.com", scaleRequest(i), i})
		}
	}
	h := (n/50 - 1) * 50 // the last host-bound route
	out = append(out, lookup{"host/last", "tenant" + strconv.Itoa(h+49) + ".example.com", scaleRequest(h + 49), h + 49})
	out = append(out, lookup{"miss", "api.example.com", "/v1/nothing/here", -1})
	return out
}

// BenchmarkMatchScale is how a lookup's cost grows with the number of
// routes (10, 1 000, 10 000; see scaleRoutes). "build" is the time New
// takes, with the heap the router holds (B/router).
func BenchmarkMatchScale(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		routes := scaleRoutes(n)
		b.Run("routes="+strconv.Itoa(n)+"/build", func(b *testing.B) {
			before := liveHeap()
			r := mustNew(b, routes)
			held := liveHeap() - before
			runtime.KeepAlive(r)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				mustNew(b, routes)
			}
			b.ReportMetric(float64(held), "B/router")
		})
		r := mustNew(b, routes)
		for _, lk := range scaleLookups(n) {
			b.Run("routes="+strconv.Itoa(n)+"/"+lk.name, func(b *testing.B) {
				var ps Params
				m, h, p := []byte("GET"), []byte(lk.host), []byte(lk.path)
				if id, _ := r.Match(m, h, p, &ps); id != lk.want {
					b.Fatalf("%s %s: route %d, want %d", lk.host, lk.path, id, lk.want)
				}
				b.ReportAllocs()
				for b.Loop() {
					r.Match(m, h, p, &ps)
				}
			})
		}
	}
}

func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
