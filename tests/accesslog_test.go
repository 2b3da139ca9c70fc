package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// TestAccessLogRotation is logrotate's dance on the real binary: under
// steady traffic the access log is renamed, SIGUSR1 is sent, traffic goes
// on; after SIGTERM every request has exactly one line, in the renamed
// file or in the new one, and each file holds whole lines.
func TestAccessLogRotation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "access.log")
	p := startBin(t, `[server]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[log]
access = "`+file+`"
access_format = "$path $status"
[[routes]]
paths = ["/r/"]
[[routes.plugins]]
name = "mock"
[routes.plugins.config]
body = "ok"
`)
	base := "http://" + p.listen
	const total, clients = 4000, 4
	var sent atomic.Int64
	rotated := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := gt.Client()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for {
				n := sent.Add(1)
				if n > total {
					return
				}
				if n == total/2 {
					// Half the traffic is sent: wait for the rotation, so
					// that both files get lines.
					<-rotated
				}
				req.SetRequestURI(base + "/r/" + strconv.FormatInt(n, 10))
				if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					errs <- "request " + strconv.FormatInt(n, 10) + ": " + strconv.Itoa(resp.StatusCode()) + " " + errString(err)
					return
				}
			}
		}()
	}
	waitFor(t, func() bool { return sent.Load() >= total/2 })
	if err := os.Rename(file, file+".1"); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGUSR1)
	waitFor(t, func() bool { return strings.Contains(p.log(), "log files reopened") })
	close(rotated)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.log())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}

	seen := make(map[string]int)
	for _, f := range []string{file + ".1", file} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) == 0 || lines[0] == "" {
			t.Fatalf("%s is empty", f)
		}
		for _, l := range lines {
			path, status, ok := strings.Cut(l, " ")
			if !ok || status != "200" || !strings.HasPrefix(path, "/r/") {
				t.Fatalf("%s: torn or foreign line %q", f, l)
			}
			seen[path]++
		}
	}
	if len(seen) != total {
		t.Errorf("%d requests logged, want %d", len(seen), total)
	}
	for path, n := range seen {
		if n != 1 {
			t.Errorf("%s logged %d times", path, n)
		}
	}
}
