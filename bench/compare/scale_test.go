package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/bench/origin"
)

func TestGrowth(t *testing.T) {
	ns := []float64{10, 1000, 10000}
	for _, tc := range []struct {
		name string
		cs   []float64
		want string
	}{
		{"flat", []float64{20, 21, 20.5}, "O(1)"},
		{"falls", []float64{20, 15, 10}, "O(1)"},
		{"linear with a fixed base", []float64{20, 20.1 + 0.1*99, 20 + 0.1*999}, "O(n)"}, // 0.01 µs per unit
		{"flat, then up at the end", []float64{20, 20.5, 80}, "O(n)"},
		{"logarithmic", []float64{20, 30, 35}, "O(log n)"}, // +10 per ×100, +5 per ×10
	} {
		if got := growth(ns, tc.cs, 0.10); !strings.HasPrefix(got, tc.want+" (") {
			t.Errorf("%s %v: %q, want %s", tc.name, tc.cs, got, tc.want)
		}
	}
	if got := growth(ns[:1], []float64{1}, 0.1); got != "n/a" {
		t.Errorf("one point: %q, want n/a", got)
	}
}

func TestRouteHits(t *testing.T) {
	for _, n := range routeCounts {
		for _, k := range routeKinds {
			i := routeIndex(n, k)
			if i < n-len(routeKinds) || i >= n || routeKinds[i%len(routeKinds)] != k {
				t.Errorf("routeIndex(%d, %s) = %d: not the last %s route", n, k, i, k)
			}
		}
	}
	if got := routeHitPath(10, hitParam); got != "/api/s7/items/42" {
		t.Errorf("routeHitPath(10, parameter) = %q", got)
	}
	cfg := scaleConfig("127.0.0.1:1", "127.0.0.1:2", 10, 0)
	if strings.Count(cfg, "[[routes]]") != 10 || !strings.Contains(cfg, `paths = ["/api/s7/items/{id}"]`) ||
		!strings.Contains(cfg, `paths = ["/api/s8/files/"]`) || !strings.Contains(cfg, `paths = ["/api/s9/me"]`) {
		t.Errorf("10 routes:\n%s", cfg)
	}
	if strings.Contains(cfg, "max_connections") {
		t.Error("pool 0 must keep the upstream's default max_connections")
	}
	if !strings.Contains(scaleConfig("127.0.0.1:1", "127.0.0.1:2", 0, 16384), "max_connections = 16384") {
		t.Error("pool 16384 not in the configuration")
	}
}

func TestScaleCasesAndFlags(t *testing.T) {
	cs := scaleCases(scaleDims, 64)
	count := map[string]int{}
	for _, c := range cs {
		count[c.Dim]++
	}
	if count[dimRoutes] != 9 || count[dimBody] != 5 || count[dimConns] != 4 {
		t.Errorf("cases per dimension %v, want routes 9, body 5, conns 4", count)
	}
	o, err := parseFlags([]string{"-scale", "routes,conns"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Duration != 5*time.Second || o.Warmup != time.Second || o.Rounds != 1 {
		t.Errorf("-scale defaults: %+v; want 5s runs, 1s warm-up, 1 round", o)
	}
	if _, err := parseFlags([]string{"-scale", "routes,nope"}); err == nil {
		t.Error("an unknown dimension was accepted")
	}
	if _, err := parseFlags([]string{"-scale", "body", "-results", "x.md"}); err == nil {
		t.Error("-scale with -results was accepted (the scale tables never overwrite RESULTS.md)")
	}
}

func TestScaleMediansAndReport(t *testing.T) {
	runs := []ScaleRun{
		{Dim: dimConns, N: 64, Label: "64", Pool: connPool, Round: 1, RPS: 100, CPUPerReqUS: 20, PeakRSS: 30 << 20},
		{Dim: dimConns, N: 64, Label: "64", Pool: connPool, Round: 2, RPS: 300, CPUPerReqUS: 24, PeakRSS: 32 << 20},
		{Dim: dimConns, N: 64, Label: "64", Pool: connPool, Round: 3, RPS: 900, CPUPerReqUS: 99, Check: "FAIL"},
		{Dim: dimConns, N: 10000, Label: "10 000, default", Round: 1, RPS: 5, Check: "4998 of 5062 requests failed"},
	}
	ms := scaleMedians(runs)
	if len(ms) != 2 || ms[0].RPS != 200 || ms[0].CPUPerReqUS != 22 || ms[0].rounds != 2 {
		t.Fatalf("medians: %+v; want the clean rounds' medians (200 req/s, 22 µs), then the failed case", ms)
	}
	if ms[1].Check == "" || ms[1].RPS != 5 {
		t.Errorf("a case with no clean run keeps its figures and failure: %+v", ms[1])
	}
	var b strings.Builder
	connsTable(&b, ms)
	for _, want := range []string{"| 64 | 16 384 | 200 |", "| 10 000 | 1 024 (default) | 5 |", "FAIL: 4998 of 5062"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
}

// The scale mode's configuration with the most routes validates, and
// moongate built from this tree answers every kind of route and every
// body case right (no wrk: the checks only).
func TestScaleConfigurationsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds moongate")
	}
	if raceEnabled {
		// The processes it checks are built without the detector: under
		// it, only this test's own reading of 100 MB bodies gets slower.
		t.Skip("nothing of moongate runs under the race detector here")
	}
	e := smokeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	file := filepath.Join(dir, "routes.toml")
	if err := os.WriteFile(file, []byte(scaleConfig("127.0.0.1:1", e.Backend, routeCounts[len(routeCounts)-1], connPool)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, e.bin("moongate"), "validate", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("moongate validate of %d routes: %v\n%s", routeCounts[len(routeCounts)-1], err, out)
	}
	for _, routes := range []int{0, 10} {
		listen, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "moongate.toml")
		if err := os.WriteFile(file, []byte(scaleConfig(listen, e.Backend, routes, 0)), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := startProcess("moongate", []string{e.bin("moongate"), "run", "-c", file}, nil, filepath.Join(dir, "output.log"))
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + listen
		if err := waitHTTP(ctx, base+"/__none", nil, p, 20*time.Second); err != nil {
			p.Stop(time.Second)
			t.Fatal(err)
		}
		for _, c := range scaleCases([]string{dimRoutes, dimBody}, 1) {
			if (c.Routes == 10) != (routes == 10) || c.Routes > 10 {
				continue
			}
			if err := scaleCheck(ctx, base, c); err != nil {
				t.Errorf("%d routes, %s %s: %v", routes, c.Label, c.Hit, err)
			}
		}
		// A path no route matches is not answered by the origin.
		c := scaleCase{Path: "/api/none", Size: origin.SmallSize}
		if routes == 10 && scaleCheck(ctx, base, c) == nil {
			t.Error("/api/none was answered 200 by 10 routes that do not match it")
		}
		p.Stop(5 * time.Second)
	}
}
