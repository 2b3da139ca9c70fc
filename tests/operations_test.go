package tests

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// traffic is steady, bounded load on one address: workers each on one
// connection at a time, with keep-alive, and no retry of any kind, as a
// load balancer without retries would send it. Every failure (an error,
// a status other than 200) is kept.
type traffic struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	failures []string
	bodies   map[string]int // successful responses by body
	closes   map[string]int // of which with Connection: close
	total    atomic.Int64
}

// startTraffic starts workers sending GET / to addr, each at most max
// requests, until finish. The first fresh workers open a new connection
// for every request (Connection: close), as short-lived clients do.
func startTraffic(t *testing.T, addr string, workers, fresh, max int) *traffic {
	t.Helper()
	tr := &traffic{stop: make(chan struct{}), bodies: map[string]int{}, closes: map[string]int{}}
	for w := 0; w < workers; w++ {
		closeEach := w < fresh
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			c := &fasthttp.HostClient{Addr: addr, MaxConns: 1, MaxIdemponentCallAttempts: 1,
				RetryIfErr:  func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
				ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := 0; i < max; i++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				req.SetRequestURI("http://" + addr + "/")
				if closeEach {
					req.Header.SetConnectionClose()
				}
				err := c.Do(req, resp)
				tr.mu.Lock()
				if err != nil || resp.StatusCode() != 200 {
					tr.failures = append(tr.failures, fmt.Sprintf("%d %q %v", resp.StatusCode(), resp.Body(), err))
				} else {
					tr.bodies[string(resp.Body())]++
					if resp.ConnectionClose() && !closeEach {
						tr.closes[string(resp.Body())]++
					}
				}
				tr.mu.Unlock()
				tr.total.Add(1)
			}
		}()
	}
	t.Cleanup(tr.finish)
	return tr
}

// finish stops the workers and waits for them.
func (tr *traffic) finish() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.wg.Wait()
}

// count returns the successful responses with body, and of them those
// with Connection: close.
func (tr *traffic) count(body string) (n, closes int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.bodies[body], tr.closes[body]
}

func (tr *traffic) failed() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.failures...)
}

// awaitCount waits until n more requests were answered than at from (or
// the workers stopped).
func (tr *traffic) awaitTotal(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, func() bool { return tr.total.Load() >= n })
}

// readyz returns the status of GET /readyz on an admin address, 0 when
// it could not be asked.
func readyz(admin string) int {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + admin + "/readyz")
	c := &fasthttp.Client{}
	if err := c.DoTimeout(req, resp, 2*time.Second); err != nil {
		return 0
	}
	return resp.StatusCode()
}

// exitCode waits for the process to end and returns its exit code.
func (p *process) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("the process did not exit within %v:\n%s", within, p.log())
		return -1
	}
}

// mockConfig is a gateway on listen whose only route answers body.
func mockConfig(listen, body, extra string) string {
	return fmt.Sprintf(`[server]
listen = %q
%s
[admin]
listen = "127.0.0.1:0"
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = %q
`, listen, extra, body)
}

// TestShutdownDelayKeepsServing: after SIGTERM, /readyz answers 503 at
// once while the listener serves every request for shutdown_delay (each
// response asking its client to reconnect), then the process drains and
// exits 0.
func TestShutdownDelayKeepsServing(t *testing.T) {
	p := startBin(t, mockConfig("127.0.0.1:0", "ok", `shutdown_delay = "2s"`))
	if st := readyz(p.admin); st != 200 {
		t.Fatalf("readyz before SIGTERM: %d", st)
	}
	tr := startTraffic(t, p.listen, 4, 1, 5000)
	tr.awaitTotal(t, 100)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	waitFor(t, func() bool { return readyz(p.admin) == 503 })
	// The load goes on, within the first half of the delay (a bound, not
	// the verdict: every request must succeed).
	from := tr.total.Load()
	for tr.total.Load() < from+200 && time.Since(signalled) < time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	tr.finish()
	if f := tr.failed(); len(f) > 0 {
		t.Errorf("%d requests failed (of %d), first: %s", len(f), tr.total.Load(), f[0])
	}
	n, closes := tr.count("ok")
	if tr.total.Load() <= from || closes == 0 {
		t.Errorf("no request answered during the delay with Connection: close (%d answered, %d with close)", n, closes)
	}
	if code := p.exitCode(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d:\n%s", code, p.log())
	}
	log := p.log()
	if !strings.Contains(log, "draining: /readyz answers 503") || !strings.Contains(log, "shutting down") {
		t.Errorf("log:\n%s", log)
	}
}

// TestReadyzAndHealthzWithoutToken: the probes of load balancers need no
// admin token; every other endpoint still does.
func TestReadyzAndHealthzWithoutToken(t *testing.T) {
	cfg := strings.Replace(mockConfig("127.0.0.1:0", "ok", ""), "[admin]\n", "[admin]\ntoken = \"s3cret-admin-token\"\n", 1)
	q := startBin(t, cfg)
	for _, c := range []struct {
		path string
		want int
	}{{"/healthz", 200}, {"/readyz", 200}, {"/status", 401}, {"/routes", 401}} {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + q.admin + c.path)
		if err := (&fasthttp.Client{}).DoTimeout(req, resp, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != c.want {
			t.Errorf("GET %s without a token: %d %s, want %d", c.path, resp.StatusCode(), resp.Body(), c.want)
		}
		if c.want == 200 && !strings.Contains(string(resp.Body()), `"status": "ok"`) {
			t.Errorf("GET %s: body %s", c.path, resp.Body())
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
}

// TestZeroDowntimeUpgrade is the binary upgrade of docs/operations.md
// under steady load: A serves with reuse_port; B starts on the same
// address; once B's /readyz answers 200, A gets SIGTERM and drains
// through its shutdown_delay. No request fails, and B serves.
//
// It runs in a network namespace of its own, where the kernel setting
// the procedure needs (net.ipv4.tcp_migrate_req = 1: a listener that
// closes hands the connections waiting in its accept queue to the other
// process instead of resetting them) is set without touching the
// machine's.
func TestZeroDowntimeUpgrade(t *testing.T) {
	if !inPrivateNetwork(t, map[string]string{"net/ipv4/tcp_migrate_req": "1"}) {
		return
	}
	addr := freePort(t)
	extra := "reuse_port = true\nshutdown_delay = \"2s\""
	a := startBin(t, mockConfig(addr, "A", extra))
	tr := startTraffic(t, addr, 4, 2, 20000)
	tr.awaitTotal(t, 200)

	b := startBin(t, mockConfig(addr, "B", extra))
	waitFor(t, func() bool { return readyz(b.admin) == 200 })
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return readyz(a.admin) == 503 })
	if code := a.exitCode(t, 30*time.Second); code != 0 {
		t.Errorf("A's exit code %d:\n%s", code, a.log())
	}
	// Load on B alone for a while.
	tr.awaitTotal(t, tr.total.Load()+400)
	tr.finish()

	if f := tr.failed(); len(f) > 0 {
		t.Errorf("%d requests failed (of %d), first: %s", len(f), tr.total.Load(), f[0])
	}
	na, ca := tr.count("A")
	nb, _ := tr.count("B")
	t.Logf("A answered %d (%d with Connection: close), B %d", na, ca, nb)
	if na == 0 || nb == 0 || ca == 0 {
		t.Errorf("A answered %d (%d while draining), B %d: want both, and A's last ones with Connection: close", na, ca, nb)
	}
}

// TestSystemdNotify: with $NOTIFY_SOCKET (systemd Type=notify), the
// binary reports READY=1 once it listens, RELOADING=1 then READY=1 around
// a SIGHUP reload, and STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	msgs := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := ln.ReadFromUnix(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func(want string) string {
		t.Helper()
		select {
		case m := <-msgs:
			if !strings.Contains(m, want) {
				t.Fatalf("got %q, want a message with %q", m, want)
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10s", want)
			return ""
		}
	}
	t.Setenv("NOTIFY_SOCKET", sock)
	p := startBin(t, mockConfig("127.0.0.1:0", "ok", ""))
	next("READY=1")
	if st := readyz(p.admin); st != 200 {
		t.Errorf("readyz after READY=1: %d", st)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	if m := next("RELOADING=1"); !strings.Contains(m, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
	}
	next("READY=1")
	p.cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	if code := p.exitCode(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestVersionAndHelp: version, --version and -v print the version, the
// commit and the Go version, also for a plain `go build`; --help, -h and
// help print the usage and exit 0; no command prints it and exits 2.
func TestVersionAndHelp(t *testing.T) {
	// A plain `go build` in a clone, as a user builds it: the go command
	// stamps the commit (it does not in a git worktree, so the sources,
	// as they are, are committed to a repository of the test's own).
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	files, err := exec.Command("git", "-C", "..", "ls-files", "-co", "--exclude-standard").Output()
	if err != nil {
		t.Skip("no git to make a repository with:", err)
	}
	for _, f := range strings.Fields(string(files)) {
		data, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			continue // deleted in the worktree
		}
		writeTree(t, repo, map[string]string{f: string(data)})
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "test")
	commit := git("rev-parse", "HEAD")
	bin := filepath.Join(t.TempDir(), "moongate")
	build := func() {
		t.Helper()
		// -trimpath, as make build does: the packages compiled do not
		// depend on this temporary folder, so the build cache serves
		// them after the first run (a build here otherwise recompiles
		// every package: ~40 s per run of the tests).
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=true", "-o", bin, "./cmd/moongate")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	build()
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}, {"-version"}} {
		out, errOut, code := run(args...)
		if code != 0 || !strings.HasPrefix(out, "moongate ") || !strings.Contains(out, "(commit "+commit) ||
			!strings.Contains(out, " go1.") || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the commit %s and the Go version", args, code, out, errOut, commit)
		}
	}
	// An uncommitted change shows.
	writeTree(t, repo, map[string]string{"cmd/moongate/extra.go": "package main\n"})
	build()
	if out, _, _ := run("version"); !strings.Contains(out, "(commit "+commit+", modified)") {
		t.Errorf("after a change: %q, want the commit and modified", out)
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, _, code := run(args...)
		if code != 0 || !strings.Contains(out, "usage: moongate <command>") || !strings.Contains(out, "version") {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
	if out, _, code := run("run", "-h"); code != 0 || !strings.Contains(out, "-c string") {
		t.Errorf("run -h: exit %d, stdout %q", code, out)
	}
	if _, errOut, code := run(); code != 2 || !strings.Contains(errOut, "usage: moongate <command>") {
		t.Errorf("no arguments: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := run("run", "--frobnicate"); code != 2 {
		t.Errorf("an unknown flag: exit %d, want 2", code)
	}
}

// writeTree writes files under dir (names with slashes make folders).
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConfigDump: `moongate config dump` prints the configuration as it
// is read, every plugin's table with its defaults, "${VAR}" expanded,
// paths absolute, and no secret; with the secrets put back, the output
// is a configuration that validates.
func TestConfigDump(t *testing.T) {
	secret := "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=" // 32 bytes in base64, as session keys want
	t.Setenv("MG_DUMP_SECRET", secret)
	t.Setenv("MG_DUMP_LISTEN", "127.0.0.1:18181")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"scripts/x.lua": "return { on_request = function(conf) end }\n",
		"moongate.toml": `[server]
listen = "${MG_DUMP_LISTEN}"
[admin]
token = "${MG_DUMP_SECRET}"
[[upstreams]]
name = "u"
balancer = "sticky"
targets = [{ url = "http://127.0.0.1:1" }]
[upstreams.sticky]
secret = "${MG_DUMP_SECRET}"
[[consumers]]
name = "alice"
groups = ["admins"]
keys = ["${MG_DUMP_SECRET}"]
basic_auth = [{ username = "alice", password = "${MG_DUMP_SECRET}" }]
jwt_secrets = [{ key = "alice-iss", secret = "${MG_DUMP_SECRET}", algorithm = "HS256" }]
hmac_secrets = [{ key = "alice-hmac", secret = "${MG_DUMP_SECRET}" }]
[[plugins]]
name = "request-id"
[[routes]]
name = "all"
paths = ["/"]
upstream = "u"
  [[routes.plugins]]
  name = "cors"
  [routes.plugins.config]
  origins = ["https://app.example.com"]
  [[routes.plugins]]
  name = "ip-restriction"
  [routes.plugins.config]
  allow = ["127.0.0.1"]
  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  mode = "any"
    [[routes.plugins.config.steps]]
    name = "key-auth"
    [[routes.plugins.config.steps]]
    name = "basic-auth"
  [[routes.plugins]]
  name = "jwt"
  [routes.plugins.config]
  consumer_keys = true
  algorithms = ["HS256"]
  [[routes.plugins]]
  name = "hmac-auth"
  [[routes.plugins]]
  name = "acl"
  [routes.plugins.config]
  allow = ["admins"]
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  keys = ["${MG_DUMP_SECRET}"]
  [[routes.plugins]]
  name = "forward-auth"
  [routes.plugins.config]
  url = "http://127.0.0.1:1/auth"
  [[routes.plugins]]
  name = "request-size-limit"
  [routes.plugins.config]
  max = "1MB"
  [[routes.plugins]]
  name = "cache"
  [[routes.plugins]]
  name = "headers"
  [routes.plugins.config.request.set]
  Authorization = "Bearer ${MG_DUMP_SECRET}"
  X-Tenant = "acme"
  [[routes.plugins]]
  name = "request-transformer"
  [routes.plugins.config.set]
  query = { api_key = "${MG_DUMP_SECRET}", page = "1" }
  body = { user = { password = "${MG_DUMP_SECRET}" } }
  [[routes.plugins]]
  script = "scripts/x.lua"
  [routes.plugins.config]
  api_key = "${MG_DUMP_SECRET}"
  greeting = "hi"
[[routes]]
name = "off"
paths = ["/off"]
  [[routes.plugins]]
  name = "request-termination"
  [[routes.plugins]]
  name = "mock"
`,
	})
	out, errOut, code := runBin(t, "config", "dump", "-c", filepath.Join(dir, "moongate.toml"))
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	for _, leak := range []string{secret, "a2tra2tr"} {
		if strings.Contains(out, leak) || strings.Contains(errOut, leak) {
			t.Errorf("the dump shows a secret (%q):\n%s", leak, out)
		}
	}
	for _, want := range []string{
		`listen = ["127.0.0.1:18181"]`,               // ${VAR} expanded
		`read_timeout = "30s"`,                       // a default of the file
		`token = "[redacted]"`,                       // a secret string of [admin]
		`secret = "[redacted]"`,                      // sticky, jwt_secrets, hmac_secrets
		`keys = ["[redacted]"]`,                      // consumers' keys, the session's keys
		`api_key = "[redacted]"`,                     // a script's table: by the key's name
		`greeting = "hi"`,                            // ... the rest as written
		`Authorization = "[redacted]"`,               // a credential header a step sets
		`X-Tenant = "acme"`,                          // ... and a header that is not one
		`api_key = "[redacted]", page = "1"`,         // a credential in a query a step sets
		`password = "[redacted]"`,                    // ... and in a body, at any depth
		`script = "` + dir + `/scripts/x.lua"`,       // a path resolved, absolute
		`tag_header = "Surrogate-Key"`,               // a default of the cache plugin
		`content_type = "text/plain; charset=utf-8"`, // a default of mock
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the dump has no %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, `"[redacted]"`); n != 12 {
		t.Errorf("%d secrets redacted, want 12:\n%s", n, out)
	}
	// With the secrets back, from another folder: a valid configuration.
	back := filepath.Join(t.TempDir(), "dumped.toml")
	os.WriteFile(back, []byte(strings.ReplaceAll(out, `"[redacted]"`, `"${MG_DUMP_SECRET}"`)), 0o600)
	if out, errOut, code := runBin(t, "validate", "-c", back); code != 0 || strings.TrimSpace(out) != "ok" {
		t.Errorf("validate of the dump: exit %d %s\n%s", code, out, errOut)
	}
	// And its own dump is the same, but for its header.
	again, _, _ := runBin(t, "config", "dump", "-c", back)
	body := func(s string) string { _, rest, _ := strings.Cut(s, "\n\n"); return rest }
	if body(again) != body(out) {
		t.Errorf("the dump of the dump differs:\n%s\n---\n%s", again, out)
	}

	// The README's line: ./bin/moongate config dump -c conf/moongate.toml
	out, errOut, code = runBin(t, "config", "dump", "-c", "conf/moongate.toml")
	scripts, _ := filepath.Abs("../scripts")
	if code != 0 || errOut != "" || !strings.Contains(out, `dir = "`+scripts+`"`) || !strings.Contains(out, `name = "health"`) {
		t.Errorf("config dump -c conf/moongate.toml: exit %d, stderr %q:\n%s", code, errOut, out)
	}
}

// TestRelativePathsFromAnotherDirectory: a configuration names its script,
// its TLS certificate and key and a consumer's "file:" key relative to its
// own folder; the binary, started from another folder (as systemd starts
// it from /), finds them all. A file that cannot be read is named, with
// the key and line that ask for it.
func TestRelativePathsFromAnotherDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	selfSigned(t, filepath.Join(dir, "tls"))
	writeTree(t, dir, map[string]string{
		"secrets/alice.key":     "alice-key-from-a-file\n",
		"scripts/lib/greet.lua": "return { word = 'relative' }\n",
		"schemas/order.json":    `{"type": "object", "required": ["item"], "properties": {"item": {"$ref": "item.json"}}}`,
		"schemas/item.json":     `{"type": "string", "minLength": 1}`,
		"scripts/hi.lua": `local greet = require("lib.greet")
return { on_response = function() gw.response.set_header("X-Script", greet.word) end }
`,
		"moongate.toml": `[log]
access = "access.log"
[server]
listen = "127.0.0.1:0"
[server.tls]
listen = "127.0.0.1:0"
cert = "tls/cert.pem"
key = "tls/key.pem"
[admin]
listen = "127.0.0.1:0"
[[consumers]]
name = "alice"
keys = ["file:secrets/alice.key"]
[[routes]]
paths = ["/orders"]
  [[routes.plugins]]
  name = "request-validator"
  [routes.plugins.config]
  schema_file = "schemas/order.json"
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "valid"
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "key-auth"
  [[routes.plugins]]
  script = "scripts/hi.lua"
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  body = "ok"
`,
	})
	elsewhere := t.TempDir()
	p, err := tryStartBinIn(t, filepath.Join(dir, "moongate.toml"), elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	addrs := strings.Split(p.listen, ",")
	if len(addrs) != 2 {
		t.Fatalf("listeners %q, want plain and TLS", p.listen)
	}
	c := &fasthttp.Client{TLSConfig: &tls.Config{InsecureSkipVerify: true}}
	for _, tc := range []struct {
		key  string
		want int
	}{{"alice-key-from-a-file", 200}, {"wrong", 401}} {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("https://" + addrs[1] + "/x")
		req.Header.Set("X-API-Key", tc.key)
		if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != tc.want || tc.want == 200 && string(resp.Header.Peek("X-Script")) != "relative" {
			t.Errorf("key %q: %d, X-Script %q; want %d (and the script's header)", tc.key, resp.StatusCode(), resp.Header.Peek("X-Script"), tc.want)
		}
	}

	// The request validator's schema file, and the file it $refs.
	for _, tc := range []struct {
		body string
		want int
	}{{`{"item": "tea"}`, 200}, {`{"item": ""}`, 400}, {`{}`, 400}} {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + addrs[0] + "/orders")
		req.Header.SetMethod("POST")
		req.Header.SetContentType("application/json")
		req.SetBodyString(tc.body)
		if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != tc.want {
			t.Errorf("POST /orders %s: %d %s, want %d", tc.body, resp.StatusCode(), resp.Body(), tc.want)
		}
	}

	// The access log file, beside the configuration file.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		if strings.Count(string(b), "\n") >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("access.log beside the configuration has %q, want a line per request", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "access.log")); err == nil {
		t.Error("access.log was written in the working directory")
	}

	// An unreadable file is named as resolved, at its key and line.
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[admin]\nlisten = \"\"\n[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  script = \"scripts/nope.lua\"\n"), 0o600)
	_, errOut, code := runBin(t, "validate", "-c", bad)
	want := bad + ":6: routes[0].plugins[0].script: cannot read " + filepath.Join(dir, "scripts/nope.lua") + ": no such file or directory"
	if code != 1 || strings.TrimSpace(errOut) != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
	os.WriteFile(bad, []byte("[admin]\nlisten = \"\"\n[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  name = \"request-validator\"\n"+
		"  [routes.plugins.config]\n  schema_file = \"schemas/nope.json\"\n  [[routes.plugins]]\n  name = \"mock\"\n"), 0o600)
	_, errOut, code = runBin(t, "validate", "-c", bad)
	want = bad + ":8: routes[0].plugins[0].config.schema_file: cannot read " + filepath.Join(dir, "schemas/nope.json") + ": no such file or directory"
	if code != 1 || strings.TrimSpace(errOut) != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}
