package router

import (
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
