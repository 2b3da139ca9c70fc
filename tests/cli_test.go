package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// moongateBin builds the moongate command once per test run.
func moongateBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "moongate-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "moongate")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/moongate").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func runBin(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(moongateBin(t), args...)
	cmd.Dir = ".." // the repository's root, where the README runs it
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateCommand(t *testing.T) {
	t.Run("the default configuration is valid", func(t *testing.T) {
		out, errOut, code := runBin(t, "validate", "-c", "conf/moongate.toml")
		if code != 0 || strings.TrimSpace(out) != "ok" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("every problem, one per line, file:line: key: reason", func(t *testing.T) {
		file := writeFile(t, "bad.toml", `[server]
read_timeout = "soon"
max_body_size = "lots"

[[plugins]]
name = "request-id"
enabeld = false

[[plugins]]
name = "rate-limiter-typo"

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:1" }]

[[routes]]
paths = ["/"]
upstream = "missing"
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  status = 999
`)
		_, errOut, code := runBin(t, "validate", "-c", file)
		if code == 0 {
			t.Fatal("exit 0 for a bad configuration")
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		want := []string{
			file + `:2: server.read_timeout: invalid duration`,
			file + `:3: server.max_body_size: invalid size`,
			file + `:7: plugins[0].enabeld: unknown key (did you mean "enabled"?)`,
			file + `:10: plugins[1].name: unknown plugin "rate-limiter-typo"`,
			file + `:18: routes[0].upstream: unknown upstream "missing"`,
			file + `:22: routes[0].plugins[0].config.status: must be between 100 and 599, got 999`,
		}
		if len(lines) != len(want) {
			t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), errOut)
		}
		for i := range want {
			if !strings.HasPrefix(lines[i], want[i]) {
				t.Errorf("line %d:\n got %s\nwant %s...", i+1, lines[i], want[i])
			}
		}
	})
	t.Run("syntax error with line and column", func(t *testing.T) {
		file := writeFile(t, "syntax.toml", "[server]\nlisten = \"0.0.0.0:8080\n")
		_, errOut, code := runBin(t, "validate", "-c", file)
		if code == 0 || !regexp.MustCompile(regexp.QuoteMeta(file)+`:2:\d+: syntax error`).MatchString(errOut) {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, errOut, code := runBin(t, "validate", "-c", "/nonexistent/moongate.toml")
		if code == 0 || !strings.Contains(errOut, "/nonexistent/moongate.toml") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("a missing environment variable", func(t *testing.T) {
		file := writeFile(t, "env.toml", "[admin]\ntoken = \"${MG_SURELY_UNSET_VAR}\"\n")
		_, errOut, code := runBin(t, "validate", "-c", file)
		if code == 0 || !strings.Contains(errOut, file+":2: admin.token: environment variable MG_SURELY_UNSET_VAR is not set") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestVersionCommand(t *testing.T) {
	out, _, code := runBin(t, "version")
	if code != 0 || !strings.HasPrefix(out, "moongate ") {
		t.Errorf("exit %d, %q", code, out)
	}
	if _, _, code := runBin(t, "frobnicate"); code == 0 {
		t.Error("an unknown command exited 0")
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a moongate binary running in the background.
type process struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	stdout *bytes.Buffer // the access log, when it goes to stdout
	mu     *sync.Mutex
	done   chan error
	// listen and admin are the addresses it bound, read from its log, so
	// that configurations can ask for port 0 and no port is guessed.
	listen, admin string
}

var startedLine = regexp.MustCompile(`msg="moongate started".* listen=(\S+) admin=(\S*)`)

// startBin runs the binary on config and waits until it logs that it
// started. It fails the test if the process exits first.
func startBin(t *testing.T, config string) *process {
	t.Helper()
	p, err := tryStartBin(t, config)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tryStartBin(t *testing.T, config string) (*process, error) {
	t.Helper()
	file := writeFile(t, "moongate.toml", config)
	cmd := exec.Command(moongateBin(t), "run", "-c", file)
	cmd.Dir = ".." // the repository's root, where `make run` runs it
	var mu sync.Mutex
	buf, out := &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stderr = lockedWriter{&mu, buf}
	cmd.Stdout = lockedWriter{&mu, out}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, stderr: buf, stdout: out, mu: &mu, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	deadline := time.After(10 * time.Second)
	for {
		if m := startedLine.FindStringSubmatch(p.log()); m != nil {
			p.listen, p.admin = m[1], m[2]
			return p, nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("moongate exited before starting (%v):\n%s", err, p.log())
		case <-deadline:
			return nil, fmt.Errorf("moongate did not start within 10s:\n%s", p.log())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// out returns what the process wrote to its standard output.
func (p *process) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}

func TestBinarySignals(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/slow" {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		ctx.WriteString("upstream:" + string(ctx.Path()))
	})
	config := func(v string) string {
		return fmt.Sprintf(`[server]
listen = "127.0.0.1:0"
shutdown_timeout = "10s"
[admin]
listen = "127.0.0.1:0"
[[upstreams]]
name = "u"
targets = [{ url = %q }]
[[routes]]
paths = ["/"]
upstream = "u"
[[routes.plugins]]
name = "headers"
[routes.plugins.config.response]
set = { "X-Config" = %q }
`, up.URL, v)
	}
	p := startBin(t, config("one"))
	base, admin := "http://"+p.listen, p.admin

	t.Run("SIGHUP reloads", func(t *testing.T) {
		if _, _, resp := gt.Do(t, "GET", base+"/", nil); string(resp.Header.Peek("X-Config")) != "one" {
			t.Fatalf("before: X-Config %q", resp.Header.Peek("X-Config"))
		}
		file := p.cmd.Args[len(p.cmd.Args)-1]
		os.WriteFile(file, []byte(config("two")), 0o600)
		p.cmd.Process.Signal(syscall.SIGHUP)
		waitFor(t, func() bool {
			_, _, resp := gt.Do(t, "GET", base+"/", nil)
			return string(resp.Header.Peek("X-Config")) == "two"
		})
		// A broken file is refused and logged; "two" keeps serving.
		os.WriteFile(file, []byte(config("three")+"\n[[routes]]\nupstream = \"nope\"\n"), 0o600)
		p.cmd.Process.Signal(syscall.SIGHUP)
		waitFor(t, func() bool { return strings.Contains(p.log(), `unknown upstream \"nope\"`) })
		if _, _, resp := gt.Do(t, "GET", base+"/", nil); string(resp.Header.Peek("X-Config")) != "two" {
			t.Errorf("after a refused reload: X-Config %q", resp.Header.Peek("X-Config"))
		}
		_, body, _ := gt.Do(t, "GET", "http://"+admin+"/status", nil)
		var s struct {
			Reloads struct{ OK, Failed int } `json:"reloads"`
		}
		json.Unmarshal(body, &s)
		if s.Reloads.OK != 1 || s.Reloads.Failed != 1 {
			t.Errorf("reloads %+v", s.Reloads)
		}
	})

	t.Run("SIGTERM drains in-flight requests and exits 0", func(t *testing.T) {
		done := getAsync(base + "/slow")
		waitFor(t, func() bool { return up.Hits() > 0 && inFlight(admin) == 1 })
		p.cmd.Process.Signal(syscall.SIGTERM)
		waitFor(t, func() bool { return strings.Contains(p.log(), "shutting down") })
		once.Do(func() { close(release) })
		r := <-done
		if r.err != nil || r.status != 200 || r.body != "upstream:/slow" {
			t.Errorf("in-flight request: %d %q %v", r.status, r.body, r.err)
		}
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("exit: %v\n%s", err, p.log())
			}
			p.done <- err // for the cleanup
		case <-time.After(15 * time.Second):
			t.Fatal("did not exit after SIGTERM")
		}
	})
}

// inFlight reads in_flight from the admin status, -1 on error.
func inFlight(admin string) int {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + admin + "/status")
	if err := gt.Client().DoTimeout(req, resp, 2*time.Second); err != nil {
		return -1
	}
	var s struct {
		InFlight int `json:"in_flight"`
	}
	if json.Unmarshal(resp.Body(), &s) != nil {
		return -1
	}
	return s.InFlight
}
