package vpcd

import (
	"net"
	"syscall"
)

// quickAck asks Linux to acknowledge the next segments at once. pcscd's
// vpcd driver sends a message's 2-byte length and its payload in two
// writes, so under Nagle's algorithm the payload waits for our ACK of the
// length, which delayed ACK holds back for up to 40 ms: every APDU would
// cost that much. TCP_QUICKACK is not sticky, so it is set before each read.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
