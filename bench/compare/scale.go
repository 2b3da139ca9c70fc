package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/bench/origin"
)

// The scale mode (-scale) measures how moongate's cost grows with the
// work, end to end (issue 17): the number of routes, the body size and the
// number of concurrent active clients. Every case starts a fresh moongate
// (so that VmHWM is the case's own peak), checks it, warms it up and drives
// it with wrk for the run's duration, in the layout of the side-by-side
// runs (moongate pinned to its core, wrk and the origin on the others).

// The dimensions of the scale mode.
const (
	dimRoutes = "routes"
	dimBody   = "body"
	dimConns  = "conns"
)

var scaleDims = []string{dimRoutes, dimBody, dimConns}

// routeCounts, connCounts are the sizes measured.
var (
	routeCounts = []int{10, 1000, 10000}
	connCounts  = []int{64, 1000, 10000}
)

// Route kinds of the routes dimension, in the order the configuration
// cycles through them.
const (
	hitExact  = "exact"
	hitParam  = "parameter"
	hitPrefix = "prefix"
)

var routeKinds = []string{hitExact, hitParam, hitPrefix}

// scaleCase is one measured configuration.
type scaleCase struct {
	Dim string
	// N is the size along Dim: routes, body bytes or connections.
	N int64
	// Label names the case in the table.
	Label string
	// Routes is the number of generated routes; 0 for one catch-all
	// route "/".
	Routes int
	// Hit is the kind of the route hit (routes dimension).
	Hit string
	// Path is requested; Upload, when > 0, is the size of the POST body
	// sent to it.
	Path   string
	Upload int64
	// Size is the response body expected, -1 for the upload's answer.
	Size  int64
	Conns int
	// PoolSize, when > 0, is the upstream's max_connections (default
	// 1024 per target).
	PoolSize int
}

// scaleCases returns the cases of the dimensions asked for, in order.
func scaleCases(dims []string, connections int) []scaleCase {
	var cs []scaleCase
	for _, d := range dims {
		switch d {
		case dimRoutes:
			for _, n := range routeCounts {
				for _, k := range routeKinds {
					cs = append(cs, scaleCase{Dim: d, N: int64(n), Label: thousands(float64(n)) + " routes",
						Routes: n, Hit: k, Path: routeHitPath(n, k), Size: origin.SmallSize, Conns: connections})
				}
			}
		case dimBody:
			for _, b := range []struct {
				label, path string
				size        int64
			}{{"100 B", origin.SmallPath, origin.SmallSize}, {"10 KB", origin.LargePath, origin.LargeSize},
				{"1 MB", origin.MegaPath, origin.MegaSize}, {"100 MB streamed", origin.StreamPath, origin.StreamSize}} {
				c := connections
				if b.size >= origin.StreamSize {
					c = 4 // a few transfers at a time: enough to keep the core busy
				}
				cs = append(cs, scaleCase{Dim: d, N: b.size, Label: b.label, Path: b.path, Size: b.size, Conns: c})
			}
			cs = append(cs, scaleCase{Dim: d, N: origin.StreamSize, Label: "100 MB upload, streamed", Path: origin.UploadPath,
				Upload: origin.StreamSize, Size: -1, Conns: 4})
		case dimConns:
			// The upstream pool is made large enough for every client to
			// have a request in flight; one more case keeps its default
			// (1 024 connections per target) with the most clients.
			for _, n := range connCounts {
				cs = append(cs, scaleCase{Dim: d, N: int64(n), Label: thousands(float64(n)), Path: origin.SmallPath,
					Size: origin.SmallSize, Conns: n, PoolSize: connPool})
			}
			n := connCounts[len(connCounts)-1]
			cs = append(cs, scaleCase{Dim: d, N: int64(n), Label: thousands(float64(n)) + ", default upstream pool",
				Path: origin.SmallPath, Size: origin.SmallSize, Conns: n})
		}
	}
	return cs
}

// routeIndex returns the last route of a kind among n generated routes:
// route i is of kind routeKinds[i%3].
func routeIndex(n int, kind string) int {
	k := 0
	for i, rk := range routeKinds {
		if rk == kind {
			k = i
		}
	}
	i := n - 1
	for i%len(routeKinds) != k {
		i--
	}
	return i
}

// routeHitPath is a request path that only the last route of its kind
// matches.
func routeHitPath(n int, kind string) string {
	i := routeIndex(n, kind)
	switch kind {
	case hitExact:
		return fmt.Sprintf("/api/s%d/me", i)
	case hitParam:
		return fmt.Sprintf("/api/s%d/items/42", i)
	}
	return fmt.Sprintf("/api/s%d/files/a/b", i)
}

// scaleConfig is moongate's configuration of a case: the plain proxy of
// the side-by-side runs with request bodies up to 200 MB (the upload),
// and either one catch-all route or n routes, cycling through an exact
// path, a path with a parameter and a prefix, all under /api/ (the first
// segment, which the router indexes, is the same for every route, as in
// an API under one versioned root) and all rewritten to the origin's
// 100-byte body.
// connPool is the upstream max_connections of the connections cases.
const connPool = 16384

func scaleConfig(listen, backend string, routes, pool int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# moongate, scale mode of bench/compare
[server]
listen = %q
idle_timeout = "300s"
shutdown_timeout = "2s"
max_body_size = "200MB"

[admin]
listen = ""

[log]
level = "warn"

[[upstreams]]
name = "origin"
targets = [{ url = "http://%s" }]
`, listen, backend)
	if pool > 0 {
		fmt.Fprintf(&b, "max_connections = %d\n", pool)
	}
	if routes == 0 {
		b.WriteString("\n[[routes]]\nname = \"all\"\npaths = [\"/\"]\nupstream = \"origin\"\n")
		return b.String()
	}
	for i := range routes {
		var p string
		switch routeKinds[i%len(routeKinds)] {
		case hitExact:
			p = fmt.Sprintf("/api/s%d/me", i)
		case hitParam:
			p = fmt.Sprintf("/api/s%d/items/{id}", i)
		default:
			p = fmt.Sprintf("/api/s%d/files/", i)
		}
		fmt.Fprintf(&b, "\n[[routes]]\nname = \"r%d\"\npaths = [%q]\nupstream = \"origin\"\nrewrite = %q\n", i, p, origin.SmallPath)
	}
	return b.String()
}

// ScaleRun is one measured run of a scale case.
type ScaleRun struct {
	Dim    string `json:"dim"`
	N      int64  `json:"n"`
	Label  string `json:"label"`
	Pool   int    `json:"pool,omitempty"`
	Hit    string `json:"hit,omitempty"`
	Path   string `json:"path"`
	Upload int64  `json:"upload,omitempty"`
	Conns  int    `json:"connections"`
	Round  int    `json:"round"`

	RPS      float64 `json:"rps"`
	P50US    float64 `json:"p50_us"`
	P99US    float64 `json:"p99_us"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	// Bytes is what went through moongate: for downloads what wrk read
	// (headers included, partial responses at the end of the run too), for
	// uploads the request body bytes the origin read.
	Bytes int64 `json:"bytes"`
	// CPUUS is moongate's user+system CPU time over the run.
	CPUUS       float64 `json:"cpu_us"`
	CPUPerReqUS float64 `json:"cpu_per_req_us"`
	CPUPerKBNS  float64 `json:"cpu_per_kb_ns"`
	ProxyUtil   float64 `json:"proxy_util"`
	// WallS is the measured run's wall time in seconds.
	WallS float64 `json:"wall_s"`
	// RSSStart is VmRSS before the measured run (after the check and the
	// warm-up); PeakRSS VmHWM at its end (the process's peak since it
	// started); EndRSS VmRSS at its end.
	RSSStart int64  `json:"rss_start"`
	PeakRSS  int64  `json:"peak_rss"`
	EndRSS   int64  `json:"end_rss"`
	Check    string `json:"check,omitempty"`
}

// uploadLua is the wrk script of uploads: reportLua plus a POST of n
// bytes.
func uploadLua(n int64) string {
	return reportLua + fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = string.rep(\"x\", %d)\nwrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n", n)
}

// runScale measures every case of the dimensions in e.Opts.Scale, round
// after round, and returns the report.
func (e *Env) runScale(ctx context.Context, started time.Time) (string, []ScaleRun) {
	dims := strings.Split(e.Opts.Scale, ",")
	cases := scaleCases(dims, e.Opts.Connections)
	var runs []ScaleRun
	for round := 1; round <= e.Opts.Rounds && ctx.Err() == nil; round++ {
		for _, c := range cases {
			if ctx.Err() != nil {
				break
			}
			run := e.measureScale(ctx, c, round)
			logf("  round %d %-6s %-24s %-10s %9.0f req/s  p99 %7.2f ms  %6.1f µs CPU/req  %8.1f ns CPU/KB  RSS %s → peak %s, end %s MB  %s",
				round, c.Dim, c.Label, c.Hit, run.RPS, run.P99US/1000, run.CPUPerReqUS, run.CPUPerKBNS,
				mb(run.RSSStart), mb(run.PeakRSS), mb(run.EndRSS), run.Check)
			runs = append(runs, run)
		}
	}
	incomplete := ""
	if ctx.Err() != nil {
		incomplete = fmt.Sprintf("INCOMPLETE: stopped after %s (%v); the tables hold what was measured",
			time.Since(started).Round(time.Second), context.Cause(ctx))
	}
	return e.scaleReport(runs, dims, started, incomplete), runs
}

// measureScale starts moongate for one case, checks it, warms it up and
// measures one wrk run.
func (e *Env) measureScale(ctx context.Context, c scaleCase, round int) ScaleRun {
	run := ScaleRun{Dim: c.Dim, N: c.N, Label: c.Label, Pool: c.PoolSize, Hit: c.Hit, Path: c.Path, Upload: c.Upload, Conns: c.Conns, Round: round}
	name := fmt.Sprintf("scale-%s-%d-%s-r%d", c.Dim, c.N, strings.Trim(strings.ReplaceAll(c.Path, "/", "_"), "_"), round)
	if c.Hit != "" {
		name = fmt.Sprintf("scale-%s-%d-%s-r%d", c.Dim, c.N, c.Hit, round)
	}
	if c.Dim == dimConns {
		name = fmt.Sprintf("scale-%s-%d-pool%d-r%d", c.Dim, c.N, c.PoolSize, round)
	}
	dir := filepath.Join(e.Out, "run", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		run.Check = err.Error()
		return run
	}
	listen, err := freeAddr()
	if err != nil {
		run.Check = err.Error()
		return run
	}
	file := filepath.Join(dir, "moongate.toml")
	if err := os.WriteFile(file, []byte(scaleConfig(listen, e.Backend, c.Routes, c.PoolSize)), 0o644); err != nil {
		run.Check = err.Error()
		return run
	}
	argv, env := e.command(Contender{Name: "moongate", Kind: kindMoongate}, dir, file, listen)
	p, err := startProcess("moongate", argv, env, filepath.Join(dir, "output.log"))
	if err != nil {
		run.Check = err.Error()
		return run
	}
	defer p.Stop(10 * time.Second)
	base := "http://" + listen
	probe := c.Path
	if c.Upload > 0 {
		probe = origin.SmallPath
	}
	if err := waitHTTP(ctx, base+probe, nil, p, 30*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "output.log"))
		run.Check = fmt.Sprintf("moongate did not start: %v %s", err, firstLine(tail(string(log), 3)))
		return run
	}
	if err := scaleCheck(ctx, base, c); err != nil {
		run.Check = "check: " + err.Error()
		return run
	}
	script := e.WrkScript
	if c.Upload > 0 {
		script = filepath.Join(e.Out, fmt.Sprintf("upload-%d.lua", c.Upload))
		if _, err := os.Stat(script); err != nil {
			if err := os.WriteFile(script, []byte(uploadLua(c.Upload)), 0o644); err != nil {
				run.Check = err.Error()
				return run
			}
		}
	}
	w := wrkRun{URL: base + c.Path, Threads: e.Layout.LoadCores, Connections: c.Conns, Script: script, Pin: pin(e.Layout.LoadCPUs)}
	if c.N >= origin.StreamSize {
		w.Timeout = 30 * time.Second // one transfer takes a second or more; wrk's 2 s would count slow ones as failed
	}
	if e.Opts.Warmup > 0 && c.Size != origin.StreamSize && c.Upload == 0 && c.Dim != dimConns {
		w.Duration = e.Opts.Warmup
		r, err := w.run(ctx)
		if err == nil {
			err = checkErrors(r)
		}
		if err != nil {
			run.Check = "warm-up: " + err.Error()
			return run
		}
	}
	pid := p.PID()
	pids := tree(pid)
	if c.Dim == dimConns {
		return e.measureWindow(ctx, run, w, pid)
	}
	run.RSSStart = rssOf(pids)
	hits0, bytes0 := e.originHits(), e.originBytes()
	cpu0 := cpuOf(pids)
	start := time.Now()
	w.Duration = e.Opts.Duration
	res, err := w.run(ctx)
	wall := time.Since(start)
	cpu := cpuOf(pids).sub(cpu0)
	run.PeakRSS, run.EndRSS = statusOf(pid, "VmHWM"), rssOf(pids)
	hits1, bytes1 := e.originHits(), e.originBytes()
	if err != nil {
		run.Check = err.Error()
		return run
	}
	run.RPS, run.P50US, run.P99US = res.RPS(), res.P50US, res.P99US
	run.Requests, run.Errors = res.Requests, res.Errors()
	run.CPUUS = float64(cpu.total().Microseconds())
	// wrk's own duration: building a 100 MB upload before it starts takes
	// a while, during which moongate does nothing.
	if res.DurationUS > 0 {
		wall = time.Duration(res.DurationUS) * time.Microsecond
	}
	run.ProxyUtil = float64(cpu.total()) / float64(wall) / float64(e.Layout.ProxyCores)
	run.WallS = wall.Seconds()
	run.Bytes = res.Bytes
	if c.Upload > 0 {
		run.Bytes = bytes1 - bytes0
	}
	if res.Requests > 0 {
		run.CPUPerReqUS = run.CPUUS / float64(res.Requests)
	}
	if run.Bytes > 0 {
		run.CPUPerKBNS = run.CPUUS * 1000 / (float64(run.Bytes) / 1024)
	}
	switch {
	case checkErrors(res) != nil:
		run.Check = checkErrors(res).Error()
	case hits0 < 0 || hits1 < 0 || bytes0 < 0 || bytes1 < 0:
		run.Check = "cannot read the origin's counters"
	default:
		if err := checkOriginShare(Expect{}, hits1-hits0, res.Requests); err != nil {
			run.Check = err.Error()
		}
	}
	return run
}

// measureWindow measures a connections case: one wrk run of warm-up plus
// duration, its connections opened once; requests/s and CPU per request
// are read over the window after the warm-up, from the origin's request
// count and moongate's CPU time, so that opening 10 000 connections (and
// moongate's as many to the origin) is not counted as the cost of the
// requests. Latencies and errors are wrk's, over its whole run.
func (e *Env) measureWindow(ctx context.Context, run ScaleRun, w wrkRun, pid int) ScaleRun {
	pids := tree(pid)
	w.Duration = e.Opts.ConnWarmup + e.Opts.Duration
	w.Timeout = 10 * time.Second
	type result struct {
		res wrkResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := w.run(ctx)
		done <- result{res, err}
	}()
	sleep := func(d time.Duration) bool {
		select {
		case <-time.After(d):
			return true
		case r := <-done:
			done <- r
			return false
		}
	}
	// The window ends a little before wrk stops, so that closing the
	// connections is not in it either.
	if !sleep(e.Opts.ConnWarmup) {
		run.Check = "wrk ended before the window opened"
	}
	run.RSSStart = rssOf(pids)
	hits0, cpu0, start := e.originHits(), cpuOf(pids), time.Now()
	if run.Check == "" && !sleep(e.Opts.Duration-250*time.Millisecond) {
		run.Check = "wrk ended within the window"
	}
	hits1, cpu1, wall := e.originHits(), cpuOf(pids), time.Since(start)
	r := <-done
	run.PeakRSS, run.EndRSS = statusOf(pid, "VmHWM"), rssOf(pids)
	if r.err != nil {
		run.Check = r.err.Error()
		return run
	}
	cpu := cpu1.sub(cpu0)
	run.Requests, run.Errors = hits1-hits0, r.res.Errors()
	run.WallS = wall.Seconds()
	run.RPS = float64(run.Requests) / run.WallS
	run.P50US, run.P99US = r.res.P50US, r.res.P99US
	run.CPUUS = float64(cpu.total().Microseconds())
	run.ProxyUtil = float64(cpu.total()) / float64(wall) / float64(e.Layout.ProxyCores)
	if run.Requests > 0 {
		run.CPUPerReqUS = run.CPUUS / float64(run.Requests)
	}
	switch {
	case run.Check != "":
	case hits0 < 0 || hits1 < 0:
		run.Check = "cannot read the origin's counters"
	case run.Requests <= 0:
		run.Check = "no requests in the window"
	default:
		if err := checkErrors(r.res); err != nil {
			run.Check = err.Error()
		}
	}
	return run
}

// statusOf reads a "kB" field of /proc/PID/status, in bytes.
func statusOf(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	return parseStatusKB(b, field)
}

// originBytes reads the origin's count of request body bytes read.
func (e *Env) originBytes() int64 { return e.originCount(origin.BytesPath) }

var scaleClient = &http.Client{
	Timeout:   2 * time.Minute,
	Transport: &http.Transport{DisableCompression: true, DisableKeepAlives: true, ResponseHeaderTimeout: 30 * time.Second},
}

// scaleCheck makes sure moongate answers a case right before it is
// measured: the origin's exact body (compared as it streams for the large
// ones), or for an upload the origin's count of every byte sent.
func scaleCheck(ctx context.Context, base string, c scaleCase) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	method, size := "GET", c.Size
	var body io.Reader
	if c.Upload > 0 {
		method, body, size = "POST", origin.NewBodyReader(c.Upload), -1
	}
	req, err := http.NewRequestWithContext(ctx, method, base+c.Path, body)
	if err != nil {
		return err
	}
	if c.Upload > 0 {
		req.ContentLength = c.Upload
	}
	resp, err := scaleClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("%s %s: status %d: %s", method, c.Path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if size < 0 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 100))
		if want := strconv.FormatInt(c.Upload, 10); string(b) != want {
			return fmt.Errorf("POST %s of %d bytes: the origin read %q", c.Path, c.Upload, b)
		}
		return nil
	}
	n, err := sameBytes(resp.Body, origin.NewBodyReader(size))
	if err != nil {
		return fmt.Errorf("GET %s: %v", c.Path, err)
	}
	if n != size {
		return fmt.Errorf("GET %s: %d bytes, want %d", c.Path, n, size)
	}
	return nil
}

// sameBytes reads got to its end, comparing it with want, and returns how
// many bytes it read.
func sameBytes(got, want io.Reader) (int64, error) {
	a, b := make([]byte, 64<<10), make([]byte, 64<<10)
	var n int64
	for {
		k, err := io.ReadFull(got, a)
		if k > 0 {
			m, _ := io.ReadFull(want, b[:k])
			if m != k || !bytes.Equal(a[:k], b[:k]) {
				return n, fmt.Errorf("the body differs from the origin's within bytes %d to %d", n, n+int64(k))
			}
			n += int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// scaleMedian is the median over the rounds of a case's clean runs.
type scaleMedian struct {
	ScaleRun
	rounds int
}

// scaleMedians groups runs by case (dimension, N, hit, path) in their
// order and returns the median of each figure over the clean rounds; a
// case without a clean run keeps its first failure in Check.
func scaleMedians(runs []ScaleRun) []scaleMedian {
	type key struct {
		dim, hit, path, label string
		n                     int64
	}
	var order []key
	by := map[key][]ScaleRun{}
	for _, r := range runs {
		k := key{r.Dim, r.Hit, r.Path, r.Label, r.N}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], r)
	}
	var out []scaleMedian
	for _, k := range order {
		rs := by[k]
		var ok []ScaleRun
		for _, r := range rs {
			if r.Check == "" {
				ok = append(ok, r)
			}
		}
		if len(ok) == 0 {
			out = append(out, scaleMedian{ScaleRun: rs[0]})
			continue
		}
		m := ok[0]
		f := func(get func(ScaleRun) float64) float64 {
			var xs []float64
			for _, r := range ok {
				xs = append(xs, get(r))
			}
			return median(xs)
		}
		m.RPS = f(func(r ScaleRun) float64 { return r.RPS })
		m.P50US = f(func(r ScaleRun) float64 { return r.P50US })
		m.P99US = f(func(r ScaleRun) float64 { return r.P99US })
		m.CPUPerReqUS = f(func(r ScaleRun) float64 { return r.CPUPerReqUS })
		m.CPUPerKBNS = f(func(r ScaleRun) float64 { return r.CPUPerKBNS })
		m.ProxyUtil = f(func(r ScaleRun) float64 { return r.ProxyUtil })
		m.WallS = f(func(r ScaleRun) float64 { return r.WallS })
		m.Requests = int64(f(func(r ScaleRun) float64 { return float64(r.Requests) }))
		m.Bytes = int64(f(func(r ScaleRun) float64 { return float64(r.Bytes) }))
		m.RSSStart = int64(f(func(r ScaleRun) float64 { return float64(r.RSSStart) }))
		m.PeakRSS = int64(f(func(r ScaleRun) float64 { return float64(r.PeakRSS) }))
		m.EndRSS = int64(f(func(r ScaleRun) float64 { return float64(r.EndRSS) }))
		m.Errors = int64(f(func(r ScaleRun) float64 { return float64(r.Errors) }))
		out = append(out, scaleMedian{ScaleRun: m, rounds: len(ok)})
	}
	return out
}

// growth names how a cost grows with n from measured points (n ascending),
// from its first, next-to-last and last points: "O(1)" when the last is
// within tol of the first (noise), else "O(n)" when the second step's
// increase per unit of n is at least a third of the first's (a cost that
// grows linearly keeps its slope; a logarithmic one adds about the same
// amount per tenfold, so its slope per unit shrinks with n), else
// "O(log n)". A cost that falls is "O(1)". The figures follow in
// brackets.
func growth(ns, cs []float64, tol float64) string {
	k := len(ns)
	if k < 2 || len(cs) != k || cs[0] <= 0 || math.IsNaN(cs[0]) || math.IsNaN(cs[k-1]) {
		return "n/a"
	}
	r := cs[k-1] / cs[0]
	figure := fmt.Sprintf("×%.2f from %s to %s", r, thousands(ns[0]), thousands(ns[k-1]))
	if r <= 1+tol {
		return "O(1) (" + figure + ")"
	}
	if k == 2 {
		return "grows (" + figure + ")"
	}
	n0, n1, n2 := ns[0], ns[k-2], ns[k-1]
	d1, d2 := cs[k-2]-cs[0], cs[k-1]-cs[k-2]
	if d1 <= tol*cs[0] {
		// Flat until the last step, then up: per unit of n the last step
		// is the steeper one.
		return "O(n) (" + figure + ")"
	}
	s1, s2 := d1/(n1-n0), d2/(n2-n1)
	if s2 >= s1/3 {
		return "O(n) (" + figure + ")"
	}
	return "O(log n) (" + figure + ")"
}

// scaleReport renders the scale mode's tables in Markdown.
func (e *Env) scaleReport(runs []ScaleRun, dims []string, started time.Time, incomplete string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b strings.Builder
	cmd := e.writeHead(&b, "### End to end", started, incomplete, " (connections per case below)")
	fmt.Fprintf(&b, "- Runs: %d round(s); each case starts a fresh moongate, checks its answers, warms it up for %s (not the 100 MB cases) and measures it for %s; figures are medians over the rounds; the connections cases measure a window of %s after %s of the same wrk run (see their table)\n",
		e.Opts.Rounds, e.Opts.Warmup, e.Opts.Duration, e.Opts.Duration-250*time.Millisecond, e.Opts.ConnWarmup)
	fmt.Fprintf(&b, "- Reproduce: `%s`\n", cmd)
	v := e.versions(ctx)
	fmt.Fprintf(&b, "- Versions: %s; %s; %s; %s\n\n", v[0], v[5], v[6], v[7])
	b.WriteString("CPU is moongate's user+system time from /proc/PID/stat over the measured run; RSS from /proc/PID/status: \"before\" is VmRSS after the check and warm-up, \"peak\" VmHWM at the end of the run (the process's peak since it started, check included), \"end\" VmRSS then. Growth is judged on the figure named, from the smallest to the largest size (O(1): within the noise allowance stated).\n\n")
	ms := scaleMedians(runs)
	for _, d := range dims {
		var rows []scaleMedian
		for _, m := range ms {
			if m.Dim == d {
				rows = append(rows, m)
			}
		}
		switch d {
		case dimRoutes:
			routesTable(&b, rows)
		case dimBody:
			bodyTable(&b, rows)
		case dimConns:
			connsTable(&b, rows)
		}
	}
	return b.String()
}

func checkCol(m scaleMedian) string {
	if m.Check != "" {
		return "FAIL: " + strings.ReplaceAll(firstLine(m.Check), "|", "/")
	}
	return "ok"
}

// series returns the Ns and one figure of clean rows, in order.
func series(rows []scaleMedian, f func(scaleMedian) float64) (ns, cs []float64) {
	for _, r := range rows {
		if r.Check == "" {
			ns, cs = append(ns, float64(r.N)), append(cs, f(r))
		}
	}
	return ns, cs
}

func routesTable(b *strings.Builder, rows []scaleMedian) {
	b.WriteString("#### Routes\n\n")
	fmt.Fprintf(b, "Routes under /api/ cycling through an exact path (`/api/s<i>/me`), a parameter path (`/api/s<i>/items/{id}`) and a prefix (`/api/s<i>/files/`), all to the one upstream (rewritten to its 100 B body); each request hits the last route of its kind. %d connections.\n\n", firstConns(rows))
	b.WriteString("| routes | route hit | req/s | CPU µs/req | p99 ms | proxy CPU | peak RSS MB | check |\n|--:|---|--:|--:|--:|--:|--:|---|\n")
	for _, m := range rows {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", thousands(float64(m.N)), m.Hit, thousands(m.RPS),
			num(m.CPUPerReqUS, "%.1f"), num(m.P99US/1000, "%.2f"), num(m.ProxyUtil*100, "%.0f%%"), mb(m.PeakRSS), checkCol(m))
	}
	b.WriteString("\nGrowth with the number of routes (CPU µs/req, 10% noise allowance):\n\n")
	for _, k := range routeKinds {
		var of []scaleMedian
		for _, m := range rows {
			if m.Hit == k {
				of = append(of, m)
			}
		}
		ns, cs := series(of, func(m scaleMedian) float64 { return m.CPUPerReqUS })
		_, rs := series(of, func(m scaleMedian) float64 { return m.RPS })
		fmt.Fprintf(b, "- %s route: CPU per request %s; req/s %s\n", k, growth(ns, cs, 0.10), trend(rs))
	}
	b.WriteString("\n")
}

func bodyTable(b *strings.Builder, rows []scaleMedian) {
	b.WriteString("#### Body size\n\n")
	b.WriteString("One catch-all route; `max_body_size = \"200MB\"`, the other defaults (bodies over `stream_threshold`, 1 MB, stream). KB moved: for downloads what wrk read (headers included), for the upload the request body bytes the origin read. The 100 MB cases run 4 connections, no warm-up and wrk --timeout 30s.\n\n")
	b.WriteString("| body | connections | req/s | MB moved | MB/s | CPU µs/req | CPU ns/KB | RSS before MB | peak RSS (VmHWM) MB | RSS at end MB | check |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, m := range rows {
		rps := thousands(m.RPS)
		if m.RPS < 100 {
			rps = num(m.RPS, "%.1f")
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m.Label, m.Conns, rps,
			thousands(float64(m.Bytes)/(1<<20)), num(float64(m.Bytes)/(1<<20)/m.WallS, "%.0f"),
			fig(m.CPUPerReqUS), fig(m.CPUPerKBNS), mb(m.RSSStart), mb(m.PeakRSS), mb(m.EndRSS), checkCol(m))
	}
	var down []scaleMedian
	for _, m := range rows {
		if m.Upload == 0 {
			down = append(down, m)
		}
	}
	ns, peaks := series(down, func(m scaleMedian) float64 { return float64(m.PeakRSS) })
	_, perKB := series(down, func(m scaleMedian) float64 { return m.CPUPerKBNS })
	_, perReq := series(down, func(m scaleMedian) float64 { return m.CPUPerReqUS })
	b.WriteString("\nGrowth with the body size:\n\n")
	var mbs []float64
	for _, p := range peaks {
		mbs = append(mbs, p/(1<<20))
	}
	fmt.Fprintf(b, "- peak RSS (MB) by body size: %s. Bodies up to `stream_threshold` (1 MB) are read whole before they are sent, so their memory is the body times the requests in flight (O(n) in the body size up to the threshold); larger ones stream:", trend(mbs))
	for _, m := range rows {
		if m.N >= origin.StreamSize && m.Check == "" {
			fmt.Fprintf(b, " %s %s → %s MB (+%s MB);", m.Label, mb(m.RSSStart), mb(m.PeakRSS), mb(m.PeakRSS-m.RSSStart))
		}
	}
	if len(ns) > 0 && ns[len(ns)-1] >= origin.StreamSize {
		fmt.Fprintf(b, " streamed against 100 B: %s (25%% noise allowance)", growth([]float64{ns[0], ns[len(ns)-1]}, []float64{peaks[0], peaks[len(peaks)-1]}, 0.25))
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "- CPU per request: %s; CPU per KB %s (a flat CPU per KB at the large sizes is a cost linear in the bytes, the least a proxy that touches every byte can do)\n",
		growth(ns, perReq, 0.10), trend(perKB))
	b.WriteString("\n")
}

func connsTable(b *strings.Builder, rows []scaleMedian) {
	b.WriteString("#### Concurrent active connections\n\n")
	fmt.Fprintf(b, "One catch-all route, 100 B bodies; every connection sends its next request as soon as the previous one is answered (wrk -c, --timeout 10s). The upstream's `max_connections` is raised to %s so that every client can have a request in flight, but in the last row, which keeps its default (1 024 per target): requests beyond it wait for a free connection, up to `connect_timeout` (before the fix of issue 17 they failed at once with 502). wrk opens its connections once and runs for the warm-up plus the duration; req/s and CPU µs/req are read over a window after the warm-up (requests counted by the origin), so that opening the connections, and moongate's to the origin, is not in them; p50, p99 and errors are wrk's over its whole run, connection phase included. RSS before is at the window's start.\n\n", thousands(connPool))
	b.WriteString("| connections | upstream max_connections | req/s | p50 ms | p99 ms | CPU µs/req | proxy CPU | RSS before MB | peak RSS (VmHWM) MB | RSS at end MB | errors | check |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	var sized []scaleMedian
	for _, m := range rows {
		pool := "1 024 (default)"
		if m.Pool > 0 {
			pool = thousands(float64(m.Pool))
			sized = append(sized, m)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n", thousands(float64(m.N)), pool, thousands(m.RPS),
			num(m.P50US/1000, "%.2f"), num(m.P99US/1000, "%.2f"), num(m.CPUPerReqUS, "%.1f"), num(m.ProxyUtil*100, "%.0f%%"),
			mb(m.RSSStart), mb(m.PeakRSS), mb(m.EndRSS), m.Errors, checkCol(m))
	}
	ns, cpuS := series(sized, func(m scaleMedian) float64 { return m.CPUPerReqUS })
	_, peaks := series(sized, func(m scaleMedian) float64 { return float64(m.PeakRSS) })
	_, p99 := series(sized, func(m scaleMedian) float64 { return m.P99US })
	_, rs := series(sized, func(m scaleMedian) float64 { return m.RPS })
	b.WriteString("\nGrowth with the connections (the rows with the raised pool):\n\n")
	fmt.Fprintf(b, "- CPU per request: %s (10%% noise allowance); req/s %s\n", growth(ns, cpuS, 0.10), trend(rs))
	fmt.Fprintf(b, "- peak RSS: %s (25%% noise allowance)\n", growth(ns, peaks, 0.25))
	fmt.Fprintf(b, "- p99 latency: %s (with one core serving, a request waits behind the others: queueing, expected O(n))\n", growth(ns, p99, 0.25))
	b.WriteString("\n")
}

func firstConns(rows []scaleMedian) int {
	if len(rows) == 0 {
		return 0
	}
	return rows[0].Conns
}

// fig formats a figure with one decimal under 100, else in thousands.
func fig(x float64) string {
	if x < 100 {
		return num(x, "%.1f")
	}
	return thousands(x)
}

// trend lists a figure's values, "a → b → c".
func trend(xs []float64) string {
	var s []string
	for _, x := range xs {
		switch {
		case x >= 1000:
			s = append(s, thousands(x))
		case x >= 10:
			s = append(s, fmt.Sprintf("%.0f", x))
		default:
			s = append(s, fmt.Sprintf("%.2f", x))
		}
	}
	if len(s) == 0 {
		return "n/a"
	}
	return strings.Join(s, " → ")
}
