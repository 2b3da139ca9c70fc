// Package redistest starts real redis-server processes for tests: each on
// a free 127.0.0.1 port, in its own temporary directory, without
// persistence, killed when the test ends. It never talks to a Redis it did
// not start.
//
// redis-server must be on PATH (`make test` installs Debian's package when
// it is missing). Without it a test is skipped with a message saying how to
// install it, except when the environment variable CI is set: in CI a
// missing redis-server fails the test.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a starting redis-server may take to say it
// accepts connections.
const readyTimeout = 15 * time.Second

// Server is one redis-server process owned by a test. Its methods are safe
// for concurrent use.
type Server struct {
	// Addr is "127.0.0.1:port". It stays the same across Restart.
	Addr string

	t    testing.TB
	bin  string
	dir  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a redis-server for t and returns once it answers PING. The
// extra args are appended to its command line (e.g. "--requirepass", "x").
// The server is killed when t ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redistest: redis-server not found on PATH (CI must install it: see Makefile target redis-server): %v", err)
		}
		t.Skip("redistest: redis-server not found on PATH: run `make redis-server` (apt-get install redis-server) to run this test")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: args}
	t.Cleanup(s.kill)
	// A free port can be taken between our probe and redis-server's bind:
	// try a few. (A port in --tls-port args is the caller's to retry.)
	var last error
	for range 5 {
		port := FreePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if last = s.start(); last == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", last)
	return nil
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago
// (for a second listener of a server, e.g. --tls-port).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs redis-server on s.Addr and waits until it is ready.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{
		"--port", port,
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
		"--loglevel", "notice",
		"--databases", "16",
	}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	// If the test binary dies, so does its server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	ready := make(chan struct{})
	var log bytes.Buffer
	var logMu sync.Mutex
	go func() {
		// Read the log until the end: redis-server must never block on a
		// full pipe. The "Ready to accept connections" line is the signal.
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			logMu.Lock()
			if log.Len() < 64<<10 {
				log.Write(sc.Bytes())
				log.WriteByte('\n')
			}
			logMu.Unlock()
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(done)
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-done:
		logMu.Lock()
		defer logMu.Unlock()
		return fmt.Errorf("redis-server on %s exited at start:\n%s", s.Addr, log.String())
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("redis-server on %s not ready after %s", s.Addr, readyTimeout)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if err := s.ping(); err != nil {
		s.kill()
		return err
	}
	return nil
}

// ping checks that the server at s.Addr answers PING (without a password:
// NOAUTH counts as an answer).
func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("redis-server on %s: %w", s.Addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("redis-server on %s: PING: %w", s.Addr, err)
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("redis-server on %s: PING answered %q", s.Addr, line)
	}
	return nil
}

// Stop kills the server (SIGKILL, as a crash would) and waits for it to
// exit. Clients see refused connections until Restart.
func (s *Server) Stop() {
	s.t.Helper()
	s.kill()
}

// Restart starts the server again on the same address, empty (nothing is
// persisted), and returns once it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.kill()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

// Pause stops the server process (SIGSTOP): connections stay open but
// nothing is answered, as with a Redis that hangs. Resume undoes it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatal("redistest: server is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // SIGKILL ends a stopped process too
	<-done
}
