// Package peeruid finds which local user owns the other end of a TCP
// connection on loopback. The IMDS endpoint uses it to refuse other users
// of the same machine: unlike a Unix socket, a loopback port is open to all.
package peeruid

import (
	"errors"
	"net/netip"
)

// ErrNotFound means no socket matches the connection: it was closed, or
// it is not on this machine.
var ErrNotFound = errors.New("no local socket matches the connection")

// ErrUnsupported means this system offers no way to look the owner up.
var ErrUnsupported = errors.New("looking up the owner of a TCP connection is not supported on this system")

// TCPOwner returns the user ID owning the TCP socket whose local address is
// client and whose remote address is server: the client's end of a
// connection the caller accepted on server.
func TCPOwner(client, server netip.AddrPort) (uint32, error) {
	return tcpOwner(client, server)
}

// ListenerOwner returns the user ID owning the listening TCP socket that a
// connection to addr would reach: the one bound to addr, or to the
// wildcard address on its port. ErrNotFound means nothing listens there.
func ListenerOwner(addr netip.AddrPort) (uint32, error) {
	return listenerOwner(addr)
}
