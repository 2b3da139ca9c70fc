package metric

import (
	"strings"
	"sync/atomic"
	"testing"
)

func scrape(r *Registry) string {
	var b strings.Builder
	r.WritePrometheus(&b)
	return b.String()
}

// TestCounterFuncKeepsCountingAcrossReloads: a counter read at scrape
// time adds what each build's count gained, whether the next build's
// count starts from 0 (an instance's own) or is shared; a gauge shows
// the serving build's value; a series the new build does not ask for
// goes with the reload.
func TestCounterFuncKeepsCountingAcrossReloads(t *testing.T) {
	r := NewRegistry()
	var a, shared atomic.Uint64
	b1 := r.Begin()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b1.CounterFunc("x_total", func() float64 { return float64(a.Load()) }, "step", "s"))
	must(b1.CounterFunc("shared_total", func() float64 { return float64(shared.Load()) }))
	must(b1.GaugeFunc("g", func() float64 { return 1 }))
	must(b1.GaugeFunc("gone", func() float64 { return 7 }))
	b1.Commit()
	a.Add(5)
	shared.Add(3)
	out := scrape(r)
	for _, want := range []string{`x_total{step="s"} 5`, "shared_total 3", "g 1", "gone 7"} {
		if !strings.Contains(out, want+"\n") {
			t.Fatalf("missing %q in\n%s", want, out)
		}
	}
	a.Add(2) // counted before the reload, not yet scraped
	var a2 atomic.Uint64
	b2 := r.Begin()
	must(b2.CounterFunc("x_total", func() float64 { return float64(a2.Load()) }, "step", "s"))
	must(b2.CounterFunc("shared_total", func() float64 { return float64(shared.Load()) }))
	must(b2.GaugeFunc("g", func() float64 { return 2 }))
	if out := scrape(r); !strings.Contains(out, "g 1\n") {
		t.Fatalf("a build not yet serving was read:\n%s", out)
	}
	b2.Commit()
	a2.Add(4)
	shared.Add(1)
	out = scrape(r)
	for _, want := range []string{`x_total{step="s"} 11`, "shared_total 4", "g 2"} {
		if !strings.Contains(out, want+"\n") {
			t.Fatalf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "gone") {
		t.Fatalf("a series the new build did not ask for stayed:\n%s", out)
	}
	if _, err := r.Begin().Counter("x_total", "step", "s"); err == nil {
		t.Fatal("a series read at scrape time was handed out as a counter")
	}
}
