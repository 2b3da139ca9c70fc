package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moongate/moongate/bench/origin"
)

// Env is everything a run shares: options, layout, programs, the origin.
type Env struct {
	Opts   Options
	Layout Layout
	// Bin is the directory of the programs compare.sh built.
	Bin string
	// Out is this run's output directory.
	Out string
	// Backend is the origin's host:port.
	Backend string
	// NoFile is the open-files limit the contenders are configured for.
	NoFile int
	// LuaModules are the nginx load_module lines of the lua module, "" if
	// it is not installed.
	LuaModules string
	// Script is the path of trivial.lua.
	Script string
	// WrkScript is the path of the wrk report script.
	WrkScript string

	origin *Process
	// Redis is the host:port of the redis-server of the rate-limit
	// scenario, "" when it is not running.
	Redis string
	redis *Process
	// moongate replaces bin/moongate and extraEnv is added to the
	// contender's environment (for the profiling run).
	moongate string
	extraEnv []string
	// commit is `git describe` of the tree when the run started.
	commit string
}

// Run is one measured wrk run of one contender.
type Run struct {
	Scenario  string `json:"scenario"`
	Contender string `json:"contender"`
	Path      string `json:"path"`
	Round     int    `json:"round"`

	RPS      float64 `json:"rps"`
	P50US    float64 `json:"p50_us"`
	P99US    float64 `json:"p99_us"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`

	// CPUPerReqUS is the proxy's CPU time per request, in microseconds;
	// SysShare the part of it spent in the kernel.
	CPUPerReqUS float64 `json:"cpu_per_req_us"`
	SysShare    float64 `json:"sys_share"`
	// ProxyUtil is the proxy's CPU time over the run's wall time, as a
	// share of the cores it was given; LoadUtil the same for wrk plus the
	// origin.
	ProxyUtil float64 `json:"proxy_util"`
	LoadUtil  float64 `json:"load_util"`
	// ForeignCores is the CPU other programs on the machine used during the
	// run, in cores.
	ForeignCores float64 `json:"foreign_cores"`
	// PeakRSS is the largest resident memory of the proxy's processes
	// sampled during the run, in bytes.
	PeakRSS    int64 `json:"peak_rss"`
	OriginHits int64 `json:"origin_hits"`
	// Check is "" when every check passed, else what failed.
	Check string `json:"check,omitempty"`
}

// IdleRun is one measurement of the idle-connections scenario.
type IdleRun struct {
	Contender string `json:"contender"`
	Round     int    `json:"round"`
	Conns     int    `json:"conns"`
	Alive     int    `json:"alive"`
	RSSBefore int64  `json:"rss_before"`
	RSSIdle   int64  `json:"rss_idle"`
	Check     string `json:"check,omitempty"`
}

// startOrigin starts bench/backend on the load CPUs.
func (e *Env) startOrigin(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	argv := append(pin(e.Layout.LoadCPUs), e.bin("backend"), "-listen", addr)
	p, err := startProcess("origin", argv, []string{"GOMAXPROCS=" + strconv.Itoa(e.Layout.LoadCores)},
		filepath.Join(e.Out, "origin.log"))
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+addr+origin.HitsPath, nil, p, 10*time.Second); err != nil {
		p.Stop(time.Second)
		return fmt.Errorf("origin: %w", err)
	}
	e.origin, e.Backend = p, addr
	return nil
}

// startRedis starts a redis-server on the load CPUs, like the origin:
// without persistence, on a free loopback port, its files in the run's
// directory. Without redis-server on PATH it does nothing, and the
// contenders that need it are skipped.
func (e *Env) startRedis(ctx context.Context) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	dir := filepath.Join(e.Out, "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	argv := append(pin(e.Layout.LoadCPUs), bin, "--bind", "127.0.0.1", "--port", port, "--save", "",
		"--appendonly", "no", "--dir", dir, "--daemonize", "no")
	p, err := startProcess("redis", argv, nil, filepath.Join(e.Out, "redis.log"))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for !redisPing(addr) {
		if p.Exited() || time.Now().After(deadline) || ctx.Err() != nil {
			p.Stop(time.Second)
			return fmt.Errorf("redis-server on %s did not answer PING within 10s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.redis, e.Redis = p, addr
	return nil
}

// redisPing reports whether a Redis answers PING on addr.
func redisPing(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// originHits reads the origin's request counter.
func (e *Env) originHits() int64 { return e.originCount(origin.HitsPath) }

// originCount reads one of the origin's counters, at path; -1 when it
// cannot.
func (e *Env) originCount(path string) int64 {
	_, body, err := get("http://"+e.Backend+path, nil)
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func (e *Env) wrk(url string, headers []string, d time.Duration) wrkRun {
	return wrkRun{URL: url, Headers: headers, Duration: d, Threads: e.Layout.LoadCores,
		Connections: e.Opts.Connections, Script: e.WrkScript, Pin: pin(e.Layout.LoadCPUs)}
}

// measure warms a running contender up on one path, then drives it for
// the run's duration while reading its CPU time and memory.
func (e *Env) measure(ctx context.Context, sc Scenario, c Contender, r *Running, path string, round int) Run {
	run := Run{Scenario: sc.Name, Contender: c.Name, Path: path, Round: round}
	url := r.Base + path
	if e.Opts.Warmup > 0 {
		if w, err := e.wrk(url, sc.Headers, e.Opts.Warmup).run(ctx); err != nil {
			run.Check = "warm-up: " + err.Error()
			return run
		} else if err := checkErrors(w); err != nil {
			run.Check = "warm-up: " + err.Error()
			return run
		}
	}
	pids := tree(r.PID())
	originPIDs := tree(e.origin.PID())
	self := []int{os.Getpid()}

	hits0 := e.originHits()
	proxy0, origin0, self0, busy0 := cpuOf(pids), cpuOf(originPIDs), cpuOf(self), machineBusy()
	stop := make(chan struct{})
	var peak int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, rssOf(pids))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	w, err := e.wrk(url, sc.Headers, e.Opts.Duration).run(ctx)
	wall := time.Since(start)
	proxy1, origin1, self1, busy1 := cpuOf(pids), cpuOf(originPIDs), cpuOf(self), machineBusy()
	close(stop)
	wg.Wait()
	hits1 := e.originHits()
	if err != nil {
		run.Check = err.Error()
		return run
	}

	proxy := proxy1.sub(proxy0)
	run.RPS, run.P50US, run.P99US = w.RPS(), w.P50US, w.P99US
	run.Requests, run.Errors = w.Requests, w.Errors()
	if w.Requests > 0 {
		run.CPUPerReqUS = float64(proxy.total().Microseconds()) / float64(w.Requests)
	}
	if proxy.total() > 0 {
		run.SysShare = float64(proxy.sys) / float64(proxy.total())
	}
	run.ProxyUtil = float64(proxy.total()) / float64(wall) / float64(e.Layout.ProxyCores)
	load := origin1.sub(origin0).total() + w.CPU
	run.LoadUtil = float64(load) / float64(wall) / float64(e.Layout.LoadCores)
	ours := proxy.total() + load + self1.sub(self0).total()
	run.ForeignCores = max(float64(busy1-busy0-ours)/float64(wall), 0)
	run.PeakRSS = peak
	run.OriginHits = hits1 - hits0
	if err := checkErrors(w); err != nil {
		run.Check = err.Error()
	} else if hits0 < 0 || hits1 < 0 {
		run.Check = "cannot read the origin's request count"
	} else if err := checkOriginShare(c.Expect, run.OriginHits, w.Requests); err != nil {
		run.Check = err.Error()
	}
	return run
}

// measureIdle starts a contender, opens the scenario's idle connections
// to it and reads its memory before and after.
func (e *Env) measureIdle(ctx context.Context, sc Scenario, c Contender, r *Running, round int) IdleRun {
	n := e.Opts.IdleConns
	run := IdleRun{Contender: c.Name, Round: round, Conns: n}
	time.Sleep(500 * time.Millisecond)
	run.RSSBefore = rssOf(tree(r.PID()))

	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	argv := append(pin(e.Layout.LoadCPUs), e.bin("idleconns"), "-addr", r.Listen, "-n", strconv.Itoa(n),
		"-path", sc.Paths[0], "-hold", "4m")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, err := os.Create(filepath.Join(r.Dir, "idleconns.log"))
	if err != nil {
		run.Check = err.Error()
		return run
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		run.Check = err.Error()
		return run
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	readLine := func(prefix string) (int, error) {
		if !lines.Scan() {
			stderr.Sync()
			msg, _ := os.ReadFile(stderr.Name())
			return 0, fmt.Errorf("idleconns ended: %s", firstLine(string(msg)))
		}
		v, ok := strings.CutPrefix(lines.Text(), prefix+" ")
		if !ok {
			return 0, fmt.Errorf("idleconns said %q", lines.Text())
		}
		return strconv.Atoi(v)
	}
	if _, err := readLine("open"); err != nil {
		run.Check = err.Error()
		return run
	}
	time.Sleep(2 * time.Second) // let the proxy settle (goroutines park, buffers return to pools)
	run.RSSIdle = rssOf(tree(r.PID()))
	io.WriteString(stdin, "check\n")
	alive, err := readLine("alive")
	if err != nil {
		run.Check = err.Error()
		return run
	}
	run.Alive = alive
	if alive != n {
		run.Check = fmt.Sprintf("the proxy closed %d of %d idle connections", n-alive, n)
	}
	return run
}
