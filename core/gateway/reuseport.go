package gateway

import (
	"context"
	"net"
	"os"
	"strings"
)

// With [server] reuse_port, every public listener is bound with
// SO_REUSEPORT, so that a second moongate (a new binary, a new
// configuration) can listen on the same addresses while the first one
// drains; Linux spreads new connections over the processes by a hash of
// their addresses.
//
// A listener that closes loses the connections that wait in its accept
// queue: the kernel resets them, unless net.ipv4.tcp_migrate_req is 1
// (Linux 5.14 and later), which makes it hand them to another listener of
// the same address instead. With it, a process that drains (SIGTERM)
// after the other one is ready loses no connection; without it, a few of
// the connections that arrive as it closes its listeners are reset.
// Start logs a warning when the setting is off.

// listenReusePort binds addr with SO_REUSEPORT.
func listenReusePort(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: setReusePort}
	return lc.Listen(context.Background(), "tcp", addr)
}

// migrateReqFile holds the kernel's net.ipv4.tcp_migrate_req.
var migrateReqFile = "/proc/sys/net/ipv4/tcp_migrate_req"

// checkMigrateReq returns a warning when the kernel resets, rather than
// migrates, the connections waiting for a reuse_port listener that
// closes; "" when it migrates them.
func checkMigrateReq() string {
	b, err := os.ReadFile(migrateReqFile)
	switch {
	case err != nil && os.IsNotExist(err):
		return "reuse_port: this kernel has no net.ipv4.tcp_migrate_req (Linux 5.14 and later): connections waiting " +
			"in the accept queue of a process that stops are reset instead of going to the other process"
	case err != nil:
		return "reuse_port: cannot read net.ipv4.tcp_migrate_req: " + err.Error()
	case strings.TrimSpace(string(b)) != "1":
		return "reuse_port: net.ipv4.tcp_migrate_req is 0: connections waiting in the accept queue of a process " +
			"that stops are reset instead of going to the other process; set it to 1 (sysctl, see docs/operations.md)"
	}
	return ""
}
