package cli

import (
	"log/slog"
	"net"
	"os"
	"strconv"
)

// notify tells the service manager about the gateway's state, the way
// sd_notify(3) does, when it asked for it: systemd's Type=notify sets
// $NOTIFY_SOCKET, a datagram socket (a path, or "@name" in the abstract
// namespace) that takes newline-separated KEY=VALUE lines. moongate sends
// READY=1 once its listeners are bound, RELOADING=1 and READY=1 around a
// reload, STOPPING=1 when it begins to drain, and STATUS= lines for
// `systemctl status`. Without $NOTIFY_SOCKET it does nothing; a failure
// is logged, and never stops the gateway.
func notify(logger *slog.Logger, state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if err := sdNotify(addr, state); err != nil {
		logger.Warn("cannot notify the service manager ($NOTIFY_SOCKET)", "error", err)
	}
}

// notifyReloading sends RELOADING=1 with the time of the monotonic clock
// that systemd asks for with it.
func notifyReloading(logger *slog.Logger) {
	state := "RELOADING=1\nSTATUS=reloading"
	if usec, ok := monotonicUsec(); ok {
		state += "\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10)
	}
	notify(logger, state)
}

// sdNotify sends one datagram to the socket at addr.
func sdNotify(addr, state string) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
