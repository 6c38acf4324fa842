//go:build unix

package ipc

import (
	"errors"
	"net"
)

var errNotUnix = errors.New("not a Unix socket connection")

// peerUID returns the user ID of the process at the other end of c, as the
// kernel recorded it when the connection was made.
func peerUID(c net.Conn) (int, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return -1, errNotUnix
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid, uidErr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { uid, uidErr = socketPeerUID(int(fd)) }); err != nil {
		return -1, err
	}
	return uid, uidErr
}
