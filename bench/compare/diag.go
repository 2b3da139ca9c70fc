package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// perfEvents are counted per request by diagnose.
var perfEvents = []string{"raw_syscalls:sys_enter", "context-switches", "cpu-migrations"}

// perfWorks reports whether perf can count the tracepoints here (it needs
// root or a permissive perf_event_paranoid).
func perfWorks(ctx context.Context) bool {
	if _, err := exec.LookPath("perf"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "perf", "stat", "-x", ",", "-e", strings.Join(perfEvents, ","), "--", "true").CombinedOutput()
	return err == nil && !bytes.Contains(out, []byte("<not supported>"))
}

// parsePerf reads `perf stat -x ,` output into event → count.
func parsePerf(out []byte) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			m[f[2]] = v
		}
	}
	return m
}

// diagnose runs after the scenarios, when -profile is given: each plain
// proxy once more on 100 B under `perf stat` (syscalls, context switches
// and CPU migrations per request), then moongate's profiling build under
// pprof. These runs are not part of the tables: counting costs a little.
func (e *Env) diagnose(ctx context.Context, res *Results) string {
	var b strings.Builder
	sc, _ := findScenario("plain")
	path := sc.Paths[0]
	if perfWorks(ctx) {
		b.WriteString("### Syscalls and context switches per request (plain proxy, 100 B; `perf stat`, separate run)\n\n")
		b.WriteString("| contender | req/s | syscalls/req | context switches/req | CPU migrations/req |\n|---|--:|--:|--:|--:|\n")
		for _, c := range sc.Contenders {
			if ctx.Err() != nil || res.skipped(sc.Name, c.Name) {
				continue
			}
			rps, counts, err := e.perfRun(ctx, sc, c, path)
			if err != nil {
				fmt.Fprintf(&b, "| %s | – | – | – | %s |\n", c.Name, strings.ReplaceAll(err.Error(), "\n", " "))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %.3f |\n", c.Name, thousands(rps),
				counts["raw_syscalls:sys_enter"], counts["context-switches"], counts["cpu-migrations"])
		}
		b.WriteString("\n")
	} else {
		b.WriteString("(perf cannot count syscalls here: no syscall table)\n\n")
	}
	b.WriteString(e.profile(ctx, sc, path))
	return b.String()
}

// perfRun drives one contender while perf stat counts its events, and
// returns requests/s and the counts divided by the requests.
func (e *Env) perfRun(ctx context.Context, sc Scenario, c Contender, path string) (float64, map[string]float64, error) {
	dir := filepath.Join(e.Out, "run", "perf-"+c.Name)
	r, err := e.start(ctx, c, dir, path, sc.Headers)
	if err != nil {
		return 0, nil, err
	}
	defer r.Stop(10 * time.Second)
	if _, err := e.wrk(r.Base+path, sc.Headers, e.Opts.Warmup+time.Second).run(ctx); err != nil {
		return 0, nil, err
	}
	var pids []string
	for _, p := range tree(r.PID()) {
		pids = append(pids, strconv.Itoa(p))
	}
	outFile := filepath.Join(dir, "perf-stat.csv")
	perf := exec.CommandContext(ctx, "perf", "stat", "-x", ",", "-o", outFile, "-e", strings.Join(perfEvents, ","),
		"-p", strings.Join(pids, ","))
	if err := perf.Start(); err != nil {
		return 0, nil, err
	}
	time.Sleep(300 * time.Millisecond) // perf attaches
	w, err := e.wrk(r.Base+path, sc.Headers, e.Opts.Duration).run(ctx)
	perf.Process.Signal(syscall.SIGINT)
	perf.Wait()
	if err != nil {
		return 0, nil, err
	}
	out, err := os.ReadFile(outFile)
	if err != nil {
		return 0, nil, err
	}
	counts := parsePerf(out)
	for k, v := range counts {
		counts[k] = v / float64(max(w.Requests, 1))
	}
	return w.RPS(), counts, nil
}

// profile runs moongate's profiling build under the plain-proxy load and
// returns `go tool pprof -top` of it, in Markdown.
func (e *Env) profile(ctx context.Context, sc Scenario, path string) string {
	bin := e.bin("moongate-pprof")
	if _, err := os.Stat(bin); err != nil {
		return "(no CPU profile: " + bin + " is missing; bench/compare.sh --profile builds it)\n"
	}
	var c Contender
	for _, x := range sc.Contenders {
		if x.Kind == kindMoongate {
			c = x
		}
	}
	pprofAddr, err := freeAddr()
	if err != nil {
		return "(no CPU profile: " + err.Error() + ")\n"
	}
	dir := filepath.Join(e.Out, "run", "profile")
	// The profiling build takes moongate's place for this one run.
	e.moongate, e.extraEnv = bin, []string{"MOONGATE_PPROF=" + pprofAddr}
	r, err := e.start(ctx, c, dir, path, nil)
	e.moongate, e.extraEnv = "", nil
	if err != nil {
		return "(no CPU profile: " + err.Error() + ")\n"
	}
	defer r.Stop(10 * time.Second)
	logf("profile: moongate under the plain-proxy load, %s", e.Opts.Duration)
	if _, err := e.wrk(r.Base+path, nil, e.Opts.Warmup+time.Second).run(ctx); err != nil {
		return "(no CPU profile: " + err.Error() + ")\n"
	}
	secs := max(int(e.Opts.Duration/time.Second)-2, 1)
	prof := filepath.Join(e.Out, "moongate-plain-100.pprof")
	done := make(chan error, 1)
	go func() {
		done <- download(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs), prof)
	}()
	w, err := e.wrk(r.Base+path, nil, e.Opts.Duration).run(ctx)
	if err != nil {
		return "(no CPU profile: " + err.Error() + ")\n"
	}
	if err := <-done; err != nil {
		return "(no CPU profile: " + err.Error() + ")\n"
	}
	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", bin, prof).CombinedOutput()
	if err != nil {
		return "(no CPU profile: go tool pprof: " + err.Error() + ")\n"
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, prof); err == nil && !strings.HasPrefix(rel, "..") {
			prof = rel
		}
	}
	return fmt.Sprintf("### CPU profile: moongate, plain proxy, 100 B (%s req/s under the profiler; file %s)\n\n```\n%s\n```\n\n",
		thousands(w.RPS()), prof, strings.TrimSpace(string(top)))
}
