package gateway

import "time"

// ParkedConns returns how many idle connections g holds parked.
func ParkedConns(g *Gateway) int { return g.park.parked() }

// UsePoller sets whether parked connections are watched by the OS poller
// (epoll) or by a goroutine each, for the gateways started afterwards
// (it may be set back once they have started), and returns the previous
// setting.
func UsePoller(on bool) bool {
	old := usePoller
	usePoller = on
	return old
}

// SetParkAfter sets how long a keep-alive connection waits for its next
// request before it parks, for the gateways started afterwards (it may be
// set back once they have started), and returns the previous value.
func SetParkAfter(d time.Duration) time.Duration {
	old := parkAfter
	parkAfter = d
	return old
}
