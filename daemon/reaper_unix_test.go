//go:build unix

package daemon

import (
	"net"
	"syscall"
	"testing"
)

// TestNoKeepAliveProbes: the endpoint's connections carry no TCP
// keep-alive (four setsockopt calls per connection for probes that the
// reaper's timeout always comes before).
func TestNoKeepAliveProbes(t *testing.T) {
	ln, err := listenTCP(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on int
	var optErr error
	raw.Control(func(fd uintptr) {
		on, optErr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	})
	if optErr != nil {
		t.Fatal(optErr)
	}
	if on != 0 {
		t.Error("accepted connection has SO_KEEPALIVE set")
	}
}
