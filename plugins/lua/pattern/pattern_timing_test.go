package pattern

import (
	"testing"

	"github.com/yuin/gopher-lua/pm"
)

var benchCases = []struct{ name, p, s string }{
	{"digits", "%d+", "order 12345 shipped"},
	{"api path", "^/api/(%w+)", "/api/users/42"},
	{"key=value", "(%w+)=(%w+)", "user=alice; role=admin"},
	{"trim", "^%s*(.-)%s*$", "  hello world  "},
}

// BenchmarkFind compiles and runs each pattern, as a string function
// call does.
func BenchmarkFind(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			var m Match
			var budget Budget
			b.ReportAllocs()
			for b.Loop() {
				p, err := Compile(bc.p, &budget)
				if err != nil {
					b.Fatal(err)
				}
				if found, err := p.Find(bc.s, 0, &budget, &m); !found || err != nil {
					b.Fatal(found, err)
				}
			}
		})
	}
}

// BenchmarkFindCompiled runs precompiled patterns: the matching alone.
func BenchmarkFindCompiled(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			p, err := Compile(bc.p, nil)
			if err != nil {
				b.Fatal(err)
			}
			var m Match
			var budget Budget
			b.ReportAllocs()
			for b.Loop() {
				if found, err := p.Find(bc.s, 0, &budget, &m); !found || err != nil {
					b.Fatal(found, err)
				}
			}
		})
	}
}

// BenchmarkFindGopherLua is the baseline: gopher-lua's matcher, which
// parses the pattern on every call too.
func BenchmarkFindGopherLua(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			src := []byte(bc.s)
			b.ReportAllocs()
			for b.Loop() {
				if mds, err := pm.Find(bc.p, src, 0, 1); len(mds) != 1 || err != nil {
					b.Fatal(mds, err)
				}
			}
		})
	}
}
