package upstream

import "net"

// WaitFINAcked waits until the peer acknowledged the FIN c.CloseWrite
// sent (FIN-WAIT-2, or TIME-WAIT once the peer closed too, or CLOSED
// when the peer had closed first).
func WaitFINAcked(c *net.TCPConn) error { return waitTCPState(c, tcpFinWait2, tcpTimeWait, tcpClose) }

// TCPStateSupported reports whether WaitFINAcked works on this system.
const TCPStateSupported = tcpStateSupported
