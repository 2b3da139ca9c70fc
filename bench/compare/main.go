package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/moongate/moongate/bench/conf"
)

// Options are the command-line flags.
type Options struct {
	Rounds      int
	Duration    time.Duration
	Warmup      time.Duration
	Connections int
	Layout      string
	ProxyCores  int
	Scenarios   string
	IdleConns   int
	Bin         string
	Out         string
	Results     string
	Note        string
	Command     string
	Timeout     time.Duration
	Profile     bool
	Quick       bool
	Scale       string
	ConnWarmup  time.Duration
}

func parseFlags(args []string) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.IntVar(&o.Rounds, "rounds", 3, "rounds; every contender runs once per round, in a rotated order")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each measured wrk run (whole seconds)")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "unmeasured wrk run before each measured one (0: none)")
	fs.IntVar(&o.Connections, "connections", 64, "wrk connections")
	fs.StringVar(&o.Layout, "layout", "pinned", "CPU layout: pinned (proxy on its own core(s), wrk and origin on the rest) or shared")
	fs.IntVar(&o.ProxyCores, "proxy-cores", 1, "cores given to the proxy in the pinned layout")
	fs.StringVar(&o.Scenarios, "scenarios", "plain,chain,cache,accesslog,idle,ratelimit,features", "scenarios to run, comma-separated")
	fs.IntVar(&o.IdleConns, "idle-conns", 10000, "connections of the idle scenario")
	fs.StringVar(&o.Bin, "bin", "bench/out/bin", "directory of the programs compare.sh built")
	fs.StringVar(&o.Out, "out", "bench/out", "directory for this run's files (a timestamped folder is made in it)")
	fs.StringVar(&o.Results, "results", "", "also write the report to this file (bench/RESULTS.md)")
	fs.StringVar(&o.Note, "note", "", "a note printed at the top of the report (\"preliminary (machine busy)\")")
	fs.StringVar(&o.Command, "command", "", "the command that reproduces this run, for the report")
	fs.DurationVar(&o.Timeout, "timeout", 45*time.Minute, "stop the whole run after this long and report what was measured")
	fs.BoolVar(&o.Profile, "profile", false, "after the scenarios, count syscalls and context switches per request of the plain proxies (perf stat) and take a CPU profile of moongate (needs bin/moongate-pprof)")
	fs.StringVar(&o.Scale, "scale", "", "instead of the scenarios, measure how moongate's cost grows with the work: "+strings.Join(scaleDims, ",")+" (comma-separated; see scale.go); 5 s runs and 1 s warm-ups unless -duration and -warmup say otherwise")
	fs.DurationVar(&o.ConnWarmup, "conn-warmup", 5*time.Second, "scale mode, connections: how long wrk runs with all its connections open before the measured window (opening 10 000 takes seconds)")
	fs.BoolVar(&o.Quick, "quick", false, "smoke run: 1 round, 3 s runs, 1 s warm-up, 2000 idle connections (unless given)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only; quote values that hold spaces)", fs.Arg(0))
	}
	if o.Quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["rounds"] {
			o.Rounds = 1
		}
		if !set["duration"] {
			o.Duration = 3 * time.Second
		}
		if !set["warmup"] {
			o.Warmup = time.Second
		}
		if !set["idle-conns"] {
			o.IdleConns = 2000
		}
	}
	if o.Scale != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			o.Duration = 5 * time.Second
		}
		if !set["warmup"] {
			o.Warmup = time.Second
		}
		if !set["rounds"] {
			o.Rounds = 1
		}
		if o.Results != "" || o.Profile {
			return o, fmt.Errorf("-scale prints its tables (and writes them to the run's folder); -results and -profile are for the scenarios")
		}
		for _, d := range strings.Split(o.Scale, ",") {
			if !slices.Contains(scaleDims, d) {
				return o, fmt.Errorf("unknown -scale dimension %q (%s)", d, strings.Join(scaleDims, ", "))
			}
		}
	}
	if o.Rounds < 1 || o.Duration < time.Second || o.Connections < 1 || o.IdleConns < 1 {
		return o, fmt.Errorf("-rounds, -connections and -idle-conns must be at least 1, -duration at least 1s")
	}
	for _, name := range strings.Split(o.Scenarios, ",") {
		if _, ok := findScenario(strings.TrimSpace(name)); !ok {
			return o, fmt.Errorf("unknown scenario %q (%s)", name, scenarioNames())
		}
	}
	return o, nil
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(opts Options) error {
	started := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	layout, err := newLayout(opts.Layout, opts.ProxyCores, runtime.NumCPU())
	if err != nil {
		return err
	}
	out := filepath.Join(opts.Out, started.UTC().Format("20060102-150405"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	out, _ = filepath.Abs(out)
	bin, _ := filepath.Abs(opts.Bin)
	e := &Env{Opts: opts, Layout: layout, Bin: bin, Out: out, NoFile: noFile(),
		LuaModules: luaModules(), Script: filepath.Join(out, "trivial.lua"), WrkScript: filepath.Join(out, "report.lua")}
	lua, _ := conf.FS.ReadFile("trivial.lua")
	if err := os.WriteFile(e.Script, lua, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(e.WrkScript, []byte(reportLua), 0o644); err != nil {
		return err
	}
	for _, p := range []string{"moongate", "backend", "bareproxy", "idleconns"} {
		if _, err := os.Stat(e.bin(p)); err != nil {
			return fmt.Errorf("%s is missing: build the programs with bench/compare.sh", e.bin(p))
		}
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is not installed (apt-get install wrk)")
	}
	e.commit = gitDescribe(ctx)
	logf("output in %s", out)
	logf("layout %s", layout.Describe(opts.Connections))
	if err := e.startOrigin(ctx); err != nil {
		return err
	}
	defer e.origin.Stop(5 * time.Second)
	logf("origin on %s", e.Backend)

	if opts.Scale != "" {
		logf("scale mode: %s", opts.Scale)
		report, runs := e.runScale(ctx, started)
		fmt.Println(report)
		raw, _ := json.MarshalIndent(runs, "", "  ")
		os.WriteFile(filepath.Join(out, "scale.json"), raw, 0o644)
		if err := os.WriteFile(filepath.Join(out, "scale.md"), []byte(report), 0o644); err != nil {
			return err
		}
		os.WriteFile(filepath.Join(opts.Out, "latest-scale.md"), []byte(report), 0o644)
		logf("done in %s; files in %s", time.Since(started).Round(time.Second), out)
		return nil
	}

	res := &Results{}
	var selected []Scenario
	redis := false
	for _, name := range strings.Split(opts.Scenarios, ",") {
		sc, _ := findScenario(strings.TrimSpace(name))
		selected = append(selected, sc)
		for _, c := range sc.Contenders {
			redis = redis || needsRedis(c)
		}
	}
	if redis {
		if err := e.startRedis(ctx); err != nil {
			return err
		}
		if e.redis != nil {
			defer e.redis.Stop(5 * time.Second)
			logf("redis-server on %s", e.Redis)
		}
	}
	for _, sc := range selected {
		if ctx.Err() != nil {
			break
		}
		e.runScenario(ctx, sc, res)
	}
	var diag string
	if opts.Profile && ctx.Err() == nil {
		diag = e.diagnose(ctx, res)
	}
	incomplete := ""
	if ctx.Err() != nil {
		incomplete = fmt.Sprintf("INCOMPLETE: stopped after %s (%v); the tables hold what was measured", time.Since(started).Round(time.Second), context.Cause(ctx))
		logf("%s", incomplete)
	}

	report := e.report(res, selected, started, incomplete, diag)
	fmt.Println(report)
	raw, _ := json.MarshalIndent(res, "", "  ")
	os.WriteFile(filepath.Join(out, "runs.json"), raw, 0o644)
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(report), 0o644); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(opts.Out, "latest.md"), []byte(report), 0o644)
	if opts.Results != "" {
		if err := writeResults(opts.Results, report); err != nil {
			return err
		}
		logf("report written to %s", opts.Results)
	}
	logf("done in %s; files in %s", time.Since(started).Round(time.Second), out)
	return nil
}

// runScenario runs every available contender of a scenario, interleaved:
// each round starts every contender once, in an order rotated by one per
// round, measures it on every path and stops it.
func (e *Env) runScenario(ctx context.Context, sc Scenario, res *Results) {
	logf("scenario %s", sc.Title)
	var ready []Contender
	for _, c := range sc.Contenders {
		why := e.availability(ctx, c, filepath.Join(e.Out, "validate", sc.Name+"-"+c.Name))
		if why != "" {
			logf("  %s: %s", c.Name, why)
			res.Skipped = append(res.Skipped, Skip{Scenario: sc.Name, Contender: c.Name, Reason: why})
			continue
		}
		ready = append(ready, c)
	}
	for round := 1; round <= e.Opts.Rounds && ctx.Err() == nil; round++ {
		for i := range ready {
			if ctx.Err() != nil {
				return
			}
			c := ready[(i+round-1)%len(ready)]
			dir := filepath.Join(e.Out, "run", fmt.Sprintf("%s-%s-r%d", sc.Name, c.Name, round))
			r, err := e.start(ctx, c, dir, sc.Paths[0], sc.Headers)
			if err != nil {
				logf("  round %d %s: %v", round, c.Name, err)
				res.Failures = append(res.Failures, fmt.Sprintf("%s round %d: %v", c.Name, round, err))
				e.recordFailure(res, sc, c, round, "did not start")
				continue
			}
			if sc.Idle {
				run := e.measureIdle(ctx, sc, c, r, round)
				logf("  round %d %-14s %d idle: RSS %s → %s MB, %d still open %s", round, c.Name, run.Conns,
					mb(run.RSSBefore), mb(run.RSSIdle), run.Alive, run.Check)
				res.Idle = append(res.Idle, run)
				r.Stop(10 * time.Second)
				continue
			}
			checkErr := check(r.Base, sc.Paths, sc.Headers, c.Expect)
			for _, path := range sc.Paths {
				if ctx.Err() != nil {
					break
				}
				run := e.measure(ctx, sc, c, r, path, round)
				if checkErr != nil && run.Check == "" {
					run.Check = checkErr.Error()
				}
				logf("  round %d %-14s %-5s %9.0f req/s  p99 %6.2f ms  %5.1f µs CPU/req  proxy %3.0f%%  load %3.0f%%  other %.2f cores %s",
					round, c.Name, bodyLabel(path), run.RPS, run.P99US/1000, run.CPUPerReqUS, run.ProxyUtil*100,
					run.LoadUtil*100, run.ForeignCores, run.Check)
				res.Runs = append(res.Runs, run)
			}
			r.Stop(10 * time.Second)
		}
	}
}

func (e *Env) recordFailure(res *Results, sc Scenario, c Contender, round int, why string) {
	if sc.Idle {
		res.Idle = append(res.Idle, IdleRun{Contender: c.Name, Round: round, Conns: e.Opts.IdleConns, Check: why})
		return
	}
	for _, p := range sc.Paths {
		res.Runs = append(res.Runs, Run{Scenario: sc.Name, Contender: c.Name, Path: p, Round: round, Check: why})
	}
}

// noFile returns the open-files limit children get (the soft limit the
// harness was started with, which compare.sh raises).
func noFile() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	return int(min(rl.Cur, 1<<20))
}

// luaModules returns the load_module lines for the nginx lua module, or
// "" if it is not installed.
func luaModules() string {
	dir := "/usr/lib/nginx/modules"
	var lines []string
	for _, m := range []string{"ndk_http_module.so", "ngx_http_lua_module.so"} {
		p := filepath.Join(dir, m)
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		lines = append(lines, "load_module "+p+";")
	}
	return strings.Join(lines, "\n")
}

func download(ctx context.Context, url, file string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// versions returns each program's version line.
func (e *Env) versions(ctx context.Context) []string {
	run := func(argv ...string) string {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if err != nil && len(out) == 0 {
			return "not installed"
		}
		return firstLine(string(out))
	}
	pkg := func(name string) string {
		v := run("dpkg-query", "-W", "-f", "${Version}", name)
		if strings.Contains(v, "no packages") || v == "not installed" {
			return "not installed"
		}
		return v
	}
	return []string{
		"moongate: " + run(e.bin("moongate"), "version"),
		"nginx: " + strings.TrimPrefix(run("nginx", "-v"), "nginx version: ") + " (Debian " + pkg("nginx") + ")",
		"nginx lua module: libnginx-mod-http-lua " + pkg("libnginx-mod-http-lua"),
		"haproxy: " + run("haproxy", "-v") + " (Debian " + pkg("haproxy") + ")",
		"varnish: " + run("varnishd", "-V") + " (Debian " + pkg("varnish") + ")",
		"wrk: " + run("wrk", "-v") + " (Debian " + pkg("wrk") + ")",
		"Go: " + runtime.Version(),
		"kernel: " + run("uname", "-sr"),
	}
}

// machine describes the CPU and memory.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = fmt.Sprintf(", %.1f GiB RAM", float64(parseStatusKB(b, "MemTotal"))/(1<<30))
	}
	return fmt.Sprintf("%d CPUs (%s), %s%s", runtime.NumCPU(), smt(), model, mem)
}

// smt tells whether CPUs share a physical core (SMT siblings), which makes
// pinning the proxy to its own CPU a weaker isolation.
func smt() string {
	var shared []string
	for i := range runtime.NumCPU() {
		b, err := os.ReadFile(fmt.Sprintf("/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", i))
		if err != nil {
			return "topology unknown"
		}
		if l := strings.TrimSpace(string(b)); strings.ContainsAny(l, ",-") && !slices.Contains(shared, l) {
			shared = append(shared, l)
		}
	}
	if len(shared) == 0 {
		return "one thread per core"
	}
	return "SMT siblings: " + strings.Join(shared, "; ")
}

func gitDescribe(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown"
	}
	br, _ := exec.CommandContext(ctx, "git", "rev-parse", "--abbrev-ref", "HEAD").Output()
	return strings.TrimSpace(string(out)) + " (" + strings.TrimSpace(string(br)) + ")"
}

// writeHead writes a report's title, note, incomplete warning and its
// date, commit, machine and layout lines (layoutNote follows the layout),
// and returns the command that reproduces the run.
func (e *Env) writeHead(b *strings.Builder, title string, started time.Time, incomplete, layoutNote string) string {
	b.WriteString(title + "\n\n")
	if e.Opts.Note != "" {
		fmt.Fprintf(b, "**%s**\n\n", e.Opts.Note)
	}
	if incomplete != "" {
		fmt.Fprintf(b, "**%s**\n\n", incomplete)
	}
	fmt.Fprintf(b, "- Date: %s\n", started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(b, "- Commit: %s\n", e.commit)
	fmt.Fprintf(b, "- Machine: %s\n", machine())
	fmt.Fprintf(b, "- Layout: %s%s\n", e.Layout.Describe(e.Opts.Connections), layoutNote)
	if e.Opts.Command != "" {
		return e.Opts.Command
	}
	return "bench/compare.sh " + strings.Join(os.Args[1:], " ")
}

// report renders the whole report in Markdown.
func (e *Env) report(res *Results, selected []Scenario, started time.Time, incomplete, diag string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b strings.Builder
	cmd := e.writeHead(&b, "# moongate side by side: results", started, incomplete, "")
	fmt.Fprintf(&b, "- Runs: %d round(s); in each, every contender is started, checked, warmed up for %s and measured for %s per body size, then stopped; the order rotates each round\n",
		e.Opts.Rounds, e.Opts.Warmup, e.Opts.Duration)
	var foreign []float64
	for _, r := range res.Runs {
		if r.Check == "" {
			foreign = append(foreign, r.ForeignCores)
		}
	}
	if len(foreign) > 0 {
		sort.Float64s(foreign)
		fmt.Fprintf(&b, "- Other programs on the machine used %.2f cores during the median run (%.2f at most)\n",
			median(foreign), foreign[len(foreign)-1])
	}
	fmt.Fprintf(&b, "- Reproduce: `%s`\n", cmd)
	b.WriteString("- Versions:\n")
	for _, v := range e.versions(ctx) {
		fmt.Fprintf(&b, "  - %s\n", v)
	}
	b.WriteString("\nFigures are medians over the rounds. Two ratios of requests/s to the named peer are shown: \"req/s ÷ peer's\" divides the two medians of the req/s column; \"per-round ratio\" is the median of the ratios measured within each round (what the targets use: drift between rounds cancels out). With few rounds they can differ widely. CPU µs/req is the proxy's user+system CPU time (all its processes) over the requests wrk completed; sys is the kernel's share of it. proxy CPU and load CPU are the CPU time of the proxy, and of wrk plus the origin, over the run's wall time, as a share of the cores each was given: a proxy under 90% was not the bottleneck. See bench/README.md.\n\n")
	for _, sc := range selected {
		res.table(&b, sc)
	}
	b.WriteString("### Targets (issues 3 and 17)\n\n")
	res.targetTable(&b, e.Opts.IdleConns)
	if len(res.Failures) > 0 {
		b.WriteString("### Failures\n\n")
		for _, f := range res.Failures {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(f, "\n", " / "))
		}
		b.WriteString("\n")
	}
	b.WriteString(diag)
	return b.String()
}

// keptMark starts the part of the results file that a run keeps: the
// sections measured by other means (memory, scaling) below the last
// side-by-side run.
const keptMark = "<!-- measured separately: kept by make bench-compare -->"

// writeResults writes report to file, followed by what file held from
// keptMark on, if anything.
func writeResults(file, report string) error {
	if old, err := os.ReadFile(file); err == nil {
		if i := strings.Index(string(old), keptMark); i >= 0 {
			report = strings.TrimRight(report, "\n") + "\n\n" + string(old[i:])
		}
	}
	return os.WriteFile(file, []byte(report), 0o644)
}
