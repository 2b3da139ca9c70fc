package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/moongate/moongate/bench/origin"
)

// Results are the runs of a whole comparison.
type Results struct {
	Runs     []Run     `json:"runs"`
	Idle     []IdleRun `json:"idle"`
	Skipped  []Skip    `json:"skipped"`
	Failures []string  `json:"failures"`
}

// Skip is a contender that could not run, and why.
type Skip struct {
	Scenario  string `json:"scenario"`
	Contender string `json:"contender"`
	Reason    string `json:"reason"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// runsOf returns the successful runs of a contender on a path, by round.
func (r *Results) runsOf(scenario, contender, path string) map[int]Run {
	out := map[int]Run{}
	for _, run := range r.Runs {
		if run.Scenario == scenario && run.Contender == contender && run.Path == path && run.Check == "" {
			out[run.Round] = run
		}
	}
	return out
}

// ratio returns the median over rounds of f(a)/f(b), using only rounds in
// which both ran cleanly; NaN if there are none.
func (r *Results) ratio(scenario, path, a, b string, f func(Run) float64) float64 {
	ra, rb := r.runsOf(scenario, a, path), r.runsOf(scenario, b, path)
	var xs []float64
	for round, x := range ra {
		if y, ok := rb[round]; ok && f(y) > 0 {
			xs = append(xs, f(x)/f(y))
		}
	}
	return median(xs)
}

// diff returns the median over rounds of f(a)-f(b).
func (r *Results) diff(scenario, path, a, b string, f func(Run) float64) float64 {
	ra, rb := r.runsOf(scenario, a, path), r.runsOf(scenario, b, path)
	var xs []float64
	for round, x := range ra {
		if y, ok := rb[round]; ok {
			xs = append(xs, f(x)-f(y))
		}
	}
	return median(xs)
}

// Row is one line of a scenario's table.
type Row struct {
	Path, Contender, Peer string
	Rounds                int
	// Ratio is the median of the per-round ratios of req/s to the peer's
	// (what the targets use: each round's drift cancels out); OfMedians is
	// RPS over the peer's RPS, the ratio of the two medians shown. With
	// few rounds they can differ widely.
	Ratio, OfMedians              float64
	RPS, P50US, P99US, CPUUS, Sys float64
	ProxyUtil, LoadUtil           float64
	PeakRSS                       int64
	Errors                        int64
	Check                         string
}

func rps(r Run) float64  { return r.RPS }
func cpu(r Run) float64  { return r.CPUPerReqUS }
func p99f(r Run) float64 { return r.P99US }

// loadBound reports whether wrk and the origin used at least 90% of their
// CPU in the median run of any of the contenders on a path.
func (r *Results) loadBound(scenario, path string, contenders ...string) bool {
	for _, c := range contenders {
		var lu []float64
		for _, run := range r.runsOf(scenario, c, path) {
			lu = append(lu, run.LoadUtil)
		}
		if median(lu) >= 0.9 {
			return true
		}
	}
	return false
}

// rows summarises a scenario: medians over the clean rounds; a contender
// with a failed round shows the first failure.
func (r *Results) rows(sc Scenario) []Row {
	var out []Row
	for _, path := range sc.Paths {
		for _, c := range sc.Contenders {
			row := Row{Path: path, Contender: c.Name, Peer: c.Peer, Check: "ok"}
			var rp, p50, p99, cpu, sys, pu, lu []float64
			seen := false
			for _, run := range r.Runs {
				if run.Scenario != sc.Name || run.Contender != c.Name || run.Path != path {
					continue
				}
				seen = true
				row.Errors += run.Errors
				if run.Check != "" {
					if row.Check == "ok" {
						row.Check = "FAIL: " + run.Check
					}
					continue
				}
				row.Rounds++
				rp, p50, p99 = append(rp, run.RPS), append(p50, run.P50US), append(p99, run.P99US)
				cpu, sys = append(cpu, run.CPUPerReqUS), append(sys, run.SysShare)
				pu, lu = append(pu, run.ProxyUtil), append(lu, run.LoadUtil)
				row.PeakRSS = max(row.PeakRSS, run.PeakRSS)
			}
			if !seen {
				continue
			}
			row.RPS, row.P50US, row.P99US = median(rp), median(p50), median(p99)
			row.CPUUS, row.Sys = median(cpu), median(sys)
			row.ProxyUtil, row.LoadUtil = median(pu), median(lu)
			row.Ratio, row.OfMedians = math.NaN(), math.NaN()
			if c.Peer != "" {
				row.Ratio = r.ratio(sc.Name, path, c.Name, c.Peer, rps)
			}
			out = append(out, row)
		}
	}
	for i := range out {
		for _, peer := range out {
			if peer.Path == out[i].Path && peer.Contender == out[i].Peer && peer.RPS > 0 {
				out[i].OfMedians = out[i].RPS / peer.RPS
			}
		}
	}
	return out
}

func bodyLabel(path string) string {
	switch path {
	case origin.SmallPath:
		return "100 B"
	case origin.LargePath:
		return "10 KB"
	}
	return path
}

func num(x float64, format string) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf(format, x)
}

// thousands formats requests/s as "61 234".
func thousands(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// table writes a scenario's table in Markdown.
func (r *Results) table(b *strings.Builder, sc Scenario) {
	fmt.Fprintf(b, "### %s\n\n", sc.Title)
	if sc.Idle {
		r.idleTable(b, sc)
		return
	}
	rows := r.rows(sc)
	if len(rows) > 0 {
		b.WriteString("| body | contender | req/s | req/s ÷ peer's | per-round ratio | p50 ms | p99 ms | CPU µs/req | sys | proxy CPU | load CPU | peak RSS MB | check |\n")
		b.WriteString("|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		for _, row := range rows {
			ofMedians, perRound := "–", "–"
			if row.Peer != "" && row.Peer != row.Contender {
				ofMedians = num(row.OfMedians, "%.2f×") + " " + row.Peer
				perRound = num(row.Ratio, "%.2f×")
			} else if row.Peer == row.Contender {
				ofMedians, perRound = "1 (peer)", "1"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				bodyLabel(row.Path), row.Contender, thousands(row.RPS), ofMedians, perRound,
				num(row.P50US/1000, "%.2f"), num(row.P99US/1000, "%.2f"), num(row.CPUUS, "%.1f"),
				num(row.Sys*100, "%.0f%%"), num(row.ProxyUtil*100, "%.0f%%"), num(row.LoadUtil*100, "%.0f%%"),
				mb(row.PeakRSS), row.Check)
		}
		b.WriteString("\n")
	}
	r.notes(b, sc)
}

// notes lists what was checked and what was skipped in a scenario.
func (r *Results) notes(b *strings.Builder, sc Scenario) {
	for _, s := range r.Skipped {
		if s.Scenario == sc.Name {
			fmt.Fprintf(b, "- **%s skipped**: %s\n", s.Contender, s.Reason)
		}
	}
	if !sc.Idle {
		for _, c := range sc.Contenders {
			if !r.skipped(sc.Name, c.Name) {
				fmt.Fprintf(b, "- %s checked: %s\n", c.Name, c.Expect.Describe(sc.Paths))
			}
		}
	}
	b.WriteString("\n")
}

func (r *Results) skipped(scenario, contender string) bool {
	for _, s := range r.Skipped {
		if s.Scenario == scenario && s.Contender == contender {
			return true
		}
	}
	return false
}

// idleRow summarises the idle runs of a contender: medians of memory.
type idleRow struct {
	Contender             string
	Conns, Alive, Rounds  int
	Before, Idle, PerConn float64
	Check                 string
}

func (r *Results) idleRows(sc Scenario) []idleRow {
	var out []idleRow
	for _, c := range sc.Contenders {
		row := idleRow{Contender: c.Name, Check: "ok"}
		var before, idle, per []float64
		seen := false
		for _, run := range r.Idle {
			if run.Contender != c.Name {
				continue
			}
			seen = true
			row.Conns, row.Alive = run.Conns, run.Alive
			if run.Check != "" {
				if row.Check == "ok" {
					row.Check = "FAIL: " + run.Check
				}
				continue
			}
			row.Rounds++
			before = append(before, float64(run.RSSBefore))
			idle = append(idle, float64(run.RSSIdle))
			per = append(per, float64(run.RSSIdle-run.RSSBefore)/float64(run.Conns))
		}
		if !seen {
			continue
		}
		row.Before, row.Idle, row.PerConn = median(before), median(idle), median(per)
		out = append(out, row)
	}
	return out
}

func (r *Results) idleTable(b *strings.Builder, sc Scenario) {
	rows := r.idleRows(sc)
	if len(rows) > 0 {
		b.WriteString("| contender | idle connections | still open | RSS before MB | RSS with them open MB | KB per connection | check |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|---|\n")
		for _, row := range rows {
			fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s | %s |\n", row.Contender, row.Conns, row.Alive,
				num(row.Before/(1<<20), "%.1f"), num(row.Idle/(1<<20), "%.1f"), num(row.PerConn/1024, "%.1f"), row.Check)
		}
		b.WriteString("\n")
	}
	b.WriteString("- checked: every connection got 200 for its one request and was still open when the memory was read\n")
	r.notes(b, sc)
}

// target is one of issue 3's targets with the figure this run measured.
type target struct {
	What, Want, Got string
	// LoadBound: wrk and the origin were at least 90% busy in these runs,
	// so req/s was capped by the load side.
	LoadBound bool
	// Met is "met", "not met" or "n/a".
	Met string
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

// targets evaluates the targets of issues 3 and 17 from the results.
func (r *Results) targets(idleConns int) []target {
	var out []target
	na := func(what, want, why string) { out = append(out, target{What: what, Want: want, Got: why, Met: "n/a"}) }
	// throughput is a req/s target against a peer: the ratio, with the
	// per-core capacity (the peer's CPU per request over moongate's) beside it.
	throughput := func(scenario, path, what, a, b string, want float64, p99 bool) {
		wantText := fmt.Sprintf("≥ %.2f×", want)
		if want == 1 {
			wantText = "> 1.00×"
		}
		if p99 {
			wantText += ", p99 ≤ 1.00×"
		}
		x := r.ratio(scenario, path, a, b, rps)
		if math.IsNaN(x) {
			na(what, wantText, a+" or "+b+" not measured")
			return
		}
		capacity := r.ratio(scenario, path, b, a, cpu)
		got := fmt.Sprintf("%.2f× (per-core capacity %.2f×)", x, capacity)
		ok := x >= want
		if want == 1 {
			ok = x > want
		}
		if p99 {
			l := r.ratio(scenario, path, a, b, p99f)
			got += fmt.Sprintf(", p99 %.2f×", l)
			ok = ok && l <= 1
		}
		out = append(out, target{What: what, Want: wantText, Got: got, Met: verdict(ok),
			LoadBound: r.loadBound(scenario, path, a, b)})
	}

	for _, path := range []string{origin.SmallPath, origin.LargePath} {
		throughput("plain", path, "plain proxy "+bodyLabel(path)+": moongate / nginx req/s", "moongate", "nginx", 1.3, true)
	}
	// Issue 17: CPU per request at most nginx's.
	if c := r.ratio("plain", origin.SmallPath, "nginx", "moongate", cpu); math.IsNaN(c) {
		na("plain proxy 100 B: per-core capacity (nginx CPU/req ÷ moongate's)", "≥ 1.00×", "moongate or nginx not measured")
	} else {
		out = append(out, target{What: "plain proxy 100 B: per-core capacity (nginx CPU/req ÷ moongate's)", Want: "≥ 1.00×",
			Got: fmt.Sprintf("%.2f×", c), Met: verdict(c >= 1)})
	}
	throughput("chain", origin.SmallPath, "chain with one Lua step / moongate plain, req/s", "moongate-chain", "moongate", 0.85, false)
	throughput("chain", origin.SmallPath, "chain: moongate-chain / nginx-lua req/s", "moongate-chain", "nginx-lua", 1, false)
	if d := r.diff("chain", origin.SmallPath, "moongate-lua", "moongate", cpu); math.IsNaN(d) {
		na("trivial Lua step: proxy CPU per request (moongate-lua − moongate)", "≤ 1.0 µs", "moongate-lua not measured")
	} else {
		out = append(out, target{What: "trivial Lua step: proxy CPU per request (moongate-lua − moongate)", Want: "≤ 1.0 µs",
			Got: fmt.Sprintf("%.1f µs", d), Met: verdict(d <= 1)})
	}
	for _, path := range []string{origin.SmallPath, origin.LargePath} {
		throughput("cache", path, "cache hits "+bodyLabel(path)+": moongate-cache / nginx-cache req/s", "moongate-cache", "nginx-cache", 1.6, false)
		throughput("cache", path, "cache hits "+bodyLabel(path)+": moongate-cache / varnish req/s", "moongate-cache", "varnish", 3, false)
	}
	throughput("features", origin.SmallPath, "features on (metrics, access log, local rate limit) / bare proxy, req/s", "moongate-features", "moongate-bare", 0.9, false)
	sc, _ := findScenario("idle")
	what := fmt.Sprintf("%d idle keep-alive connections: moongate RSS", idleConns)
	found := false
	for _, row := range r.idleRows(sc) {
		if row.Contender == "moongate" && row.Rounds > 0 {
			found = true
			got := row.Idle / (1 << 20)
			if idleConns == 10000 {
				out = append(out, target{What: what, Want: "≤ 60 MB", Got: fmt.Sprintf("%.1f MB", got), Met: verdict(got <= 60)})
			} else {
				out = append(out, target{What: what, Want: "≤ 60 MB at 10 000", Got: fmt.Sprintf("%.1f MB at %d", got, idleConns), Met: "n/a"})
			}
		}
	}
	if !found {
		na(what, "≤ 60 MB", "not measured")
	}
	return out
}

func (r *Results) targetTable(b *strings.Builder, idleConns int) {
	b.WriteString("| target | wanted | measured | |\n|---|---|---|---|\n")
	star := false
	for _, t := range r.targets(idleConns) {
		mark := ""
		if t.LoadBound {
			mark, star = " *", true
		}
		fmt.Fprintf(b, "| %s | %s | %s%s | %s |\n", t.What, t.Want, t.Got, mark, t.Met)
	}
	b.WriteString("| 0 allocs/op on the plain proxy path and a small cache hit | 0 | see `make bench` | – |\n\n")
	b.WriteString("Req/s ratios here are medians of the per-round ratios (the tables' \"per-round ratio\" column), not the ratio of the medians. Per-core capacity is the peer's CPU per request over moongate's: how many requests moongate serves on one core for each one the peer serves, whatever capped req/s.\n")
	if star {
		b.WriteString("\n\\* wrk and the origin were at least 90% busy in these runs: req/s was capped by the load side as much as by the proxy, so the req/s ratio is squeezed towards 1; the per-core capacity is the better guide.\n")
	}
	b.WriteString("\n")
}
