package redistest

import (
	"net"
	"testing"
	"time"
)

// TestStartStopRestart: the server answers on its own loopback port, a
// stopped server refuses connections, a restarted one answers on the same
// address again.
func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("address %q, want one on 127.0.0.1", s.Addr)
	}
	if err := s.ping(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a stopped server still accepts connections")
	}
	s.Restart()
	if err := s.ping(); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	s.Pause()
	s.Resume()
	if err := s.ping(); err != nil {
		t.Fatalf("after pause and resume: %v", err)
	}
}

// TestServersAreIndependent: two servers of one test get two addresses.
func TestServersAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t, "--requirepass", "secret")
	if a.Addr == b.Addr {
		t.Fatalf("both servers on %s", a.Addr)
	}
	if err := b.ping(); err != nil { // NOAUTH is an answer
		t.Fatal(err)
	}
}
