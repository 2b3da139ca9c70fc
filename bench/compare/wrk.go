package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// reportLua is the wrk script that prints the figures the harness needs as
// one JSON line (latencies in microseconds).
const reportLua = `-- Written by bench/compare: prints wrk's summary as one JSON line.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d," ..
    "\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"mean_us\":%.1f,\"max_us\":%d," ..
    "\"err_connect\":%d,\"err_read\":%d,\"err_write\":%d,\"err_status\":%d,\"err_timeout\":%d}\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
`

// wrkResult is one wrk run.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Bytes      int64   `json:"bytes"`
	P50US      float64 `json:"p50_us"`
	P90US      float64 `json:"p90_us"`
	P99US      float64 `json:"p99_us"`
	MeanUS     float64 `json:"mean_us"`
	MaxUS      float64 `json:"max_us"`
	ErrConnect int64   `json:"err_connect"`
	ErrRead    int64   `json:"err_read"`
	ErrWrite   int64   `json:"err_write"`
	ErrStatus  int64   `json:"err_status"`
	ErrTimeout int64   `json:"err_timeout"`

	// CPU is wrk's own CPU time.
	CPU time.Duration `json:"-"`
}

// RPS returns requests per second.
func (w wrkResult) RPS() float64 {
	if w.DurationUS <= 0 {
		return 0
	}
	return float64(w.Requests) / (float64(w.DurationUS) / 1e6)
}

// Errors returns the failed requests: connection errors, timeouts and
// responses with a status outside 2xx and 3xx.
func (w wrkResult) Errors() int64 {
	return w.ErrConnect + w.ErrRead + w.ErrWrite + w.ErrStatus + w.ErrTimeout
}

// parseWrk finds the BENCHJSON line in wrk's output.
func parseWrk(out []byte) (wrkResult, error) {
	for _, line := range bytes.Split(out, []byte("\n")) {
		if j, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("BENCHJSON ")); ok {
			var r wrkResult
			if err := json.Unmarshal(j, &r); err != nil {
				return r, fmt.Errorf("wrk report %q: %w", j, err)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("no report in wrk's output:\n%s", strings.TrimSpace(string(out)))
}

// wrkSeconds turns a duration into wrk's -d argument (whole seconds, at
// least one).
func wrkSeconds(d time.Duration) string {
	s := int((d + time.Second/2) / time.Second)
	return strconv.Itoa(max(s, 1)) + "s"
}

// wrkRun describes one wrk invocation.
type wrkRun struct {
	URL         string
	Headers     []string
	Duration    time.Duration
	Threads     int
	Connections int
	Timeout     time.Duration // wrk --timeout, 2 s when 0
	Script      string        // path of the report script
	Pin         []string      // taskset prefix, or none
}

// run drives the URL and returns wrk's figures. It is bounded by the
// duration plus a margin.
func (w wrkRun) run(ctx context.Context) (wrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, w.Duration+30*time.Second)
	defer cancel()
	argv := append([]string{}, w.Pin...)
	timeout := "2s"
	if w.Timeout > 0 {
		timeout = wrkSeconds(w.Timeout)
	}
	argv = append(argv, "wrk", "-t", strconv.Itoa(w.Threads), "-c", strconv.Itoa(w.Connections),
		"-d", wrkSeconds(w.Duration), "--timeout", timeout, "-s", w.Script)
	for _, h := range w.Headers {
		argv = append(argv, "-H", h)
	}
	argv = append(argv, w.URL)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out.String())
	}
	r, err := parseWrk(out.Bytes())
	if err != nil {
		return r, err
	}
	if ps := cmd.ProcessState; ps != nil {
		r.CPU = ps.UserTime() + ps.SystemTime()
	}
	return r, nil
}
