package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := "4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 100 0 0 0 250 75 0 0 20 0 1 0 100 1000 200 18446744073709551615"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 4241 || st.utime != 2500*time.Millisecond || st.stime != 750*time.Millisecond {
		t.Errorf("got ppid %d utime %v stime %v, want 4241 2.5s 750ms", st.ppid, st.utime, st.stime)
	}
	if _, err := parseStat([]byte("garbage")); err == nil {
		t.Error("garbage parsed without error")
	}
}

func TestProcessTreeCPUAndRSS(t *testing.T) {
	// A shell that starts a child: both must be found, and the child's
	// busy loop must show as CPU time of the tree.
	cmd := exec.Command("sh", "-c", "sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 30' & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var pids []int
	deadline := time.Now().Add(10 * time.Second)
	for len(pids) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("tree(%d) = %v, want the shell and its child", cmd.Process.Pid, pids)
		}
		time.Sleep(20 * time.Millisecond)
		pids = tree(cmd.Process.Pid)
	}
	if pids[0] != cmd.Process.Pid {
		t.Errorf("tree starts with %d, want %d", pids[0], cmd.Process.Pid)
	}
	for cpuOf(pids).total() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no CPU time for a busy child")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rss := rssOf(pids); rss < 100<<10 {
		t.Errorf("rssOf = %d bytes, want at least 100 KB for two shells", rss)
	}
	if rssOf([]int{os.Getpid()}) == 0 || cpuOf([]int{-1}).total() != 0 {
		t.Error("rssOf(self) is 0 or a missing process has CPU time")
	}
}

func TestParseWrk(t *testing.T) {
	out := "Running 3s test @ http://127.0.0.1:1/100\n  1 threads and 64 connections\n" +
		`BENCHJSON {"requests":30000,"duration_us":3000000,"bytes":1,"p50_us":900,"p90_us":1500,"p99_us":4000,"mean_us":1000.5,"max_us":9000,"err_connect":0,"err_read":1,"err_write":0,"err_status":2,"err_timeout":3}` + "\n"
	w, err := parseWrk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if w.RPS() != 10000 || w.P99US != 4000 || w.Errors() != 6 {
		t.Errorf("RPS %v p99 %v errors %d, want 10000 4000 6", w.RPS(), w.P99US, w.Errors())
	}
	if _, err := parseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused\n")); err == nil ||
		!strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("a wrk failure gave %v, want wrk's own message", err)
	}
	if got := wrkSeconds(2400 * time.Millisecond); got != "2s" {
		t.Errorf("wrkSeconds(2.4s) = %s, want 2s", got)
	}
	if got := wrkSeconds(100 * time.Millisecond); got != "1s" {
		t.Errorf("wrkSeconds(100ms) = %s, want 1s", got)
	}
}

func TestChecksOfARun(t *testing.T) {
	if checkErrors(wrkResult{Requests: 10000, ErrStatus: 10}) != nil {
		t.Error("0.1% failed requests failed the run")
	}
	if err := checkErrors(wrkResult{Requests: 10000, ErrStatus: 11}); err == nil || !strings.Contains(err.Error(), "status 11") {
		t.Errorf("11 bad statuses in 10000: %v", err)
	}
	if checkOriginShare(expectPlain, 1000, 1000) != nil || checkOriginShare(expectPlain, 999, 1000) == nil {
		t.Error("a proxy must pass every request to the origin, and fail when it does not")
	}
	if checkOriginShare(expectCache, 10, 1000) != nil || checkOriginShare(expectCache, 11, 1000) == nil {
		t.Error("a cache may pass at most 1% of the requests to the origin")
	}
}

func TestMissingFeatures(t *testing.T) {
	out := `/tmp/x.toml: consumers: unknown key
/tmp/x.toml:9: plugins[0].name: unknown plugin "key-auth" (known: headers, mock, request-id)
/tmp/x.toml:11: plugins[1].script: no script engine for "/tmp/x.lua" (scripts end in .lua)
/tmp/x.toml:13: routes[0].plugins[0].name: unknown plugin "key-auth" (known: headers, mock, request-id)
`
	want := "[consumers] not supported; plugin key-auth not registered; Lua script steps not supported"
	if got := missingFeatures(out); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := missingFeatures("/tmp/x.toml:3: server.listen: bad address\n"); !strings.Contains(got, "server.listen: bad address") {
		t.Errorf("an unrelated problem must be quoted, got %q", got)
	}
}

func TestLayout(t *testing.T) {
	l, err := newLayout("pinned", 1, 2)
	if err != nil || l.ProxyCPUs != "1" || l.LoadCPUs != "0" || l.ProxyCores != 1 || l.LoadCores != 1 {
		t.Errorf("pinned on 2 CPUs: %+v, %v", l, err)
	}
	l, err = newLayout("pinned", 2, 8)
	if err != nil || l.ProxyCPUs != "6-7" || l.LoadCPUs != "0-5" || l.ProxyCores != 2 {
		t.Errorf("pinned 2 of 8: %+v, %v", l, err)
	}
	l, err = newLayout("shared", 1, 2)
	if err != nil || l.ProxyCPUs != "" || l.ProxyCores != 2 || pin(l.ProxyCPUs) != nil {
		t.Errorf("shared: %+v, %v", l, err)
	}
	if _, err := newLayout("pinned", 2, 2); err == nil {
		t.Error("pinning 2 proxy cores on a 2-CPU machine leaves no core for wrk, and must be refused")
	}
	if _, err := newLayout("spread", 1, 2); err == nil {
		t.Error("an unknown layout was accepted")
	}
}

func TestMedianRatioAndRows(t *testing.T) {
	if median([]float64{3, 1, 2}) != 2 || median([]float64{4, 1, 3, 2}) != 2.5 || !math.IsNaN(median(nil)) {
		t.Error("median is wrong")
	}
	sc := Scenario{Name: "plain", Paths: []string{"/100"}, Contenders: []Contender{
		{Name: "nginx", Peer: "nginx"}, {Name: "moongate", Peer: "nginx"}}}
	run := func(c string, round int, rps float64, check string) Run {
		return Run{Scenario: "plain", Path: "/100", Contender: c, Round: round, RPS: rps, P99US: 1000, Check: check}
	}
	res := &Results{Runs: []Run{
		// Round 2 is slow for both: the ratio of a round cancels the drift.
		run("nginx", 1, 100, ""), run("moongate", 1, 120, ""),
		run("nginx", 2, 50, ""), run("moongate", 2, 65, ""),
		run("nginx", 3, 100, ""), run("moongate", 3, 0, "status 502"),
	}}
	if got := res.ratio("plain", "/100", "moongate", "nginx", rps); math.Abs(got-1.25) > 1e-9 {
		t.Errorf("ratio = %v, want 1.25 (median of 1.2 and 1.3; the failed round left out)", got)
	}
	rows := res.rows(sc)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	if rows[0].RPS != 100 || rows[0].Check != "ok" || rows[0].Rounds != 3 {
		t.Errorf("nginx row %+v", rows[0])
	}
	if rows[1].RPS != 92.5 || rows[1].Rounds != 2 || rows[1].Check != "FAIL: status 502" {
		t.Errorf("moongate row: RPS %v rounds %d check %q; want 92.5, 2, FAIL: status 502", rows[1].RPS, rows[1].Rounds, rows[1].Check)
	}
	var b strings.Builder
	res.table(&b, sc)
	// Both ratios, each under its own name: the median moongate (92.5)
	// over the median nginx (100) is 0.93×; the median of the rounds'
	// ratios is 1.25×.
	if math.Abs(rows[1].OfMedians-0.925) > 1e-9 {
		t.Errorf("ratio of the medians = %v, want 0.925", rows[1].OfMedians)
	}
	for _, want := range []string{"| req/s | req/s ÷ peer's | per-round ratio |", "| 100 B | nginx | 100 | 1 (peer) | 1 |",
		"| 100 B | moongate | 92 | 0.93× nginx | 1.25× |", "FAIL: status 502"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table\n%s\nlacks %q", b.String(), want)
		}
	}
	if thousands(1234567) != "1 234 567" || thousands(999) != "999" {
		t.Errorf("thousands: %q %q", thousands(1234567), thousands(999))
	}
}

func TestTargets(t *testing.T) {
	res := &Results{
		Runs: []Run{
			{Scenario: "plain", Path: "/100", Contender: "nginx", Round: 1, RPS: 100, P99US: 1000, CPUPerReqUS: 30, LoadUtil: 0.95},
			{Scenario: "plain", Path: "/100", Contender: "moongate", Round: 1, RPS: 140, P99US: 900, CPUPerReqUS: 25},
			{Scenario: "plain", Path: "/10k", Contender: "nginx", Round: 1, RPS: 100, P99US: 1000, CPUPerReqUS: 30},
			{Scenario: "plain", Path: "/10k", Contender: "moongate", Round: 1, RPS: 140, P99US: 1100, CPUPerReqUS: 30},
			{Scenario: "features", Path: "/100", Contender: "moongate-bare", Round: 1, RPS: 100, CPUPerReqUS: 20},
			{Scenario: "features", Path: "/100", Contender: "moongate-features", Round: 1, RPS: 85, CPUPerReqUS: 23},
		},
		Idle: []IdleRun{{Contender: "moongate", Round: 1, Conns: 10000, Alive: 10000, RSSBefore: 10 << 20, RSSIdle: 70 << 20}},
	}
	got := map[string]target{}
	for _, tg := range res.targets(10000) {
		got[tg.What] = tg
	}
	want := map[string]string{
		"plain proxy 100 B: moongate / nginx req/s":                               "met",
		"plain proxy 10 KB: moongate / nginx req/s":                               "not met", // p99 worse
		"10000 idle keep-alive connections: moongate RSS":                         "not met",
		"chain with one Lua step / moongate plain, req/s":                         "n/a",
		"plain proxy 100 B: per-core capacity (nginx CPU/req ÷ moongate's)":       "met",     // 30 / 25
		"features on (metrics, access log, local rate limit) / bare proxy, req/s": "not met", // 0.85
	}
	for k, v := range want {
		if got[k].Met != v {
			t.Errorf("%s: %q, want %q", k, got[k].Met, v)
		}
	}
	small := got["plain proxy 100 B: moongate / nginx req/s"]
	if !strings.Contains(small.Got, "1.40× (per-core capacity 1.20×), p99 0.90×") || !small.LoadBound {
		t.Errorf("100 B: %q, load-bound %v; want the ratio, capacity 1.20× and p99, marked load-bound", small.Got, small.LoadBound)
	}
	if got["10000 idle keep-alive connections: moongate RSS"].Got != "70.0 MB" {
		t.Error("the idle target does not quote the RSS measured")
	}
	var b strings.Builder
	res.targetTable(&b, 10000)
	if !strings.Contains(b.String(), "1.20×), p99 0.90× * |") || !strings.Contains(b.String(), "capped by the load side") {
		t.Errorf("the table does not mark the load-bound target:\n%s", b.String())
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-quick", "-rounds", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Rounds != 2 || o.Duration != 3*time.Second || o.IdleConns != 2000 {
		t.Errorf("quick with -rounds 2: %+v; want rounds 2 (given), 3s, 2000 idle", o)
	}
	if _, err := parseFlags([]string{"-scenarios", "plain,nope"}); err == nil {
		t.Error("an unknown scenario was accepted")
	}
	// A value split by the shell must not silently drop the flags after it.
	if _, err := parseFlags([]string{"-note", "two", "words", "-profile"}); err == nil || !strings.Contains(err.Error(), `"words"`) {
		t.Errorf("a stray argument: %v, want an error naming it", err)
	}
}

func TestParsePerf(t *testing.T) {
	out := "# started on Tue\n\n4200123,,raw_syscalls:sys_enter,8001234567,100.00,,\n" +
		"120001,,context-switches,8001234567,100.00,,\n<not counted>,,cpu-migrations,0,0.00,,\n"
	m := parsePerf([]byte(out))
	if m["raw_syscalls:sys_enter"] != 4200123 || m["context-switches"] != 120001 {
		t.Errorf("parsed %v", m)
	}
	if _, ok := m["cpu-migrations"]; ok {
		t.Error("an uncounted event got a value")
	}
}

// A run rewrites the results file but keeps what follows keptMark (the
// sections measured by other means).
func TestWriteResultsKeepsSeparateSections(t *testing.T) {
	file := filepath.Join(t.TempDir(), "RESULTS.md")
	if err := writeResults(file, "# run 1\n"); err != nil {
		t.Fatal(err)
	}
	kept := keptMark + "\n\n## Round two: memory\n\nrows\n"
	raw, _ := os.ReadFile(file)
	if err := os.WriteFile(file, append(raw, []byte("\n"+kept)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeResults(file, "# run 2\n"); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(file)
	if want := "# run 2\n\n" + kept; string(raw) != want {
		t.Errorf("file:\n%s\nwant:\n%s", raw, want)
	}
}
