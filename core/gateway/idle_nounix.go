//go:build !unix

package gateway

// canWait says whether a goroutine can wait for a parked socket here: on
// this system, connections are not parked without a poller.
const canWait = false

func readable(uintptr) bool { return true }
