//go:build !linux

package gateway

// newPoller returns nil: a goroutine waits for each parked connection.
func newPoller(func(id uint32)) poller { return nil }
