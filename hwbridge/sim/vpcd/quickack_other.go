//go:build !linux

package vpcd

import "net"

// quickAck is Linux-only (see quickack_linux.go).
func quickAck(net.Conn) {}
