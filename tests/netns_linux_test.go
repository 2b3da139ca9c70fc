package tests

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// inPrivateNetwork runs the calling test again in a network namespace of
// its own (a loopback interface of its own, kernel settings of its own),
// where sysctls (paths under /proc/sys, values) are set first: it returns
// true in that run, which does the test, and false in the calling one,
// which waits for it and takes its result. The binary under test is
// shared through $MOONGATE_TEST_BIN. Creating a namespace needs root
// (CAP_SYS_ADMIN): without it the test is skipped.
func inPrivateNetwork(t *testing.T, sysctls map[string]string) bool {
	t.Helper()
	if os.Getenv("MOONGATE_TEST_NETNS") == t.Name() {
		if err := loopbackUp(); err != nil {
			t.Fatalf("bringing lo up: %v", err)
		}
		for k, v := range sysctls {
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
				t.Fatalf("sysctl %s = %s: %v", k, v, err)
			}
		}
		return true
	}
	bin := moongateBin(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "MOONGATE_TEST_NETNS="+t.Name(), "MOONGATE_TEST_BIN="+bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Logf("in a network namespace of its own:\n%s", out)
	case errors.As(err, &ee):
		t.Fatalf("in a network namespace of its own: %v\n%s", err, out)
	case errors.Is(err, syscall.EPERM):
		t.Skip("creating a network namespace needs root (CAP_SYS_ADMIN):", err)
	default:
		t.Fatal(err)
	}
	return false
}

// loopbackUp sets the namespace's lo interface up (ip link set lo up).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
