// Command consumers measures what [[consumers]] cost a running moongate.
//
//	consumers -moongate bin/moongate -n 1000000
//
// It writes a configuration with N consumers holding one API key each
// (and a route that key-auth protects, answered by a mock step). It
// validates it (moongate validate: wall and CPU time, peak RSS); runs it
// (moongate run: time until it listens, RSS then and a few seconds later,
// and a check that the last consumer's key is accepted and a wrong one
// refused); and reloads it (SIGHUP, the file rewritten with the last key
// changed: time until "configuration reloaded", the peak RSS of the
// process so far, RSS a few seconds later, and a check that the new key
// is accepted and the old one refused). RSS is read from /proc (Linux).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("moongate", "bin/moongate", "the moongate binary")
	n := flag.Int("n", 100000, "consumers, one API key each")
	settle := flag.Duration("settle", 5*time.Second, "wait before reading the RSS a running gateway settles at")
	dir := flag.String("dir", "", "directory for the configuration (default: a temporary one, removed)")
	flag.Parse()
	if err := run(*bin, *n, *settle, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "consumers:", err)
		os.Exit(1)
	}
}

func run(bin string, n int, settle time.Duration, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "consumers")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "consumers.toml")
	size, err := writeConfig(file, addr, n, "")
	if err != nil {
		return err
	}
	fmt.Printf("consumers       %d, one API key each (%s, %.1f MB)\n", n, file, mb(size))

	// validate
	start := time.Now()
	cmd := exec.Command(bin, "validate", "-c", file)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("validate: %v: %s", err, firstLine(string(out)))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	fmt.Printf("validate        %.2f s (CPU %.2f s), peak RSS %.1f MB\n", time.Since(start).Seconds(),
		cpu(ru), float64(ru.Maxrss)/1024)

	// run
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start = time.Now()
	gw := exec.CommandContext(ctx, bin, "run", "-c", file)
	stderr, err := gw.StderrPipe()
	if err != nil {
		return err
	}
	if err := gw.Start(); err != nil {
		return err
	}
	defer func() {
		gw.Process.Signal(syscall.SIGTERM)
		gw.Wait()
	}()
	logs := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case logs <- sc.Text():
			default: // nobody waits for this line
			}
		}
		close(logs)
	}()
	if err := waitLog(logs, "moongate started", 5*time.Minute); err != nil {
		return err
	}
	pid := gw.Process.Pid
	fmt.Printf("start           %.2f s until listening; RSS %.1f MB, peak %.1f MB\n", time.Since(start).Seconds(),
		status(pid, "VmRSS"), status(pid, "VmHWM"))
	if err := checkKeys(addr, key(n-1, ""), key(n-1, "x")); err != nil {
		return err
	}
	time.Sleep(settle)
	fmt.Printf("running         RSS %.1f MB after %v\n", status(pid, "VmRSS"), settle)

	// reload, with the last key changed
	if _, err := writeConfig(file, addr, n, "x"); err != nil {
		return err
	}
	start = time.Now()
	if err := gw.Process.Signal(syscall.SIGHUP); err != nil {
		return err
	}
	if err := waitLog(logs, "configuration reloaded", 5*time.Minute); err != nil {
		return err
	}
	fmt.Printf("reload          %.2f s; peak RSS of the process so far %.1f MB\n", time.Since(start).Seconds(),
		status(pid, "VmHWM"))
	if err := checkKeys(addr, key(n-1, "x"), key(n-1, "")); err != nil {
		return fmt.Errorf("after the reload: %w", err)
	}
	time.Sleep(settle)
	fmt.Printf("after reload    RSS %.1f MB after %v\n", status(pid, "VmRSS"), settle)
	return nil
}

// key is the API key of consumer i; variant changes it.
func key(i int, variant string) string {
	return "key-" + strconv.Itoa(i) + "-0123456789abcdef0123456789abcdef" + variant
}

// writeConfig writes the configuration: n consumers, the last one's key
// changed by variant.
func writeConfig(file, addr string, n int, variant string) (int64, error) {
	f, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, `[server]
listen = %q
[admin]
listen = ""
[log]
level = "info"
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "key-auth"
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "ok"
`, addr)
	for i := range n {
		v := ""
		if i == n-1 {
			v = variant
		}
		fmt.Fprintf(w, "[[consumers]]\nname = \"consumer-%d\"\nkeys = [%q]\n", i, key(i, v))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return st.Size(), f.Close()
}

// checkKeys checks that good is accepted (200) and bad refused (401).
func checkKeys(addr, good, bad string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct {
		key  string
		want int
	}{{good, 200}, {bad, 401}} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("X-API-Key", tc.key)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			return fmt.Errorf("key %q: got %d, want %d", tc.key, resp.StatusCode, tc.want)
		}
	}
	return nil
}

// waitLog waits for a log line containing s.
func waitLog(logs <-chan string, s string, limit time.Duration) error {
	deadline := time.After(limit)
	for {
		select {
		case line, ok := <-logs:
			if !ok {
				return errors.New("moongate ended before logging " + strconv.Quote(s))
			}
			if strings.Contains(line, s) {
				return nil
			}
			if strings.Contains(line, "level=ERROR") {
				return errors.New("moongate: " + line)
			}
		case <-deadline:
			return errors.New("no " + strconv.Quote(s) + " logged in " + limit.String())
		}
	}
}

// status returns a memory field of /proc/pid/status, in MB.
func status(pid int, field string) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func cpu(ru *syscall.Rusage) float64 {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
