//go:build !unix

package upstream

import "net"

// idleCheck is a no-op where sockets cannot be peeked at: a connection
// the target closed is found when the request is written or its answer
// read, and the rules for a failed try apply.
type idleCheck struct{}

func (c *idleCheck) init(net.Conn) {}

func (c *idleCheck) peerClosed() bool { return false }

// writeThenWait writes nothing: the caller writes p the usual way.
func (c *idleCheck) writeThenWait(p []byte) int { return 0 }
