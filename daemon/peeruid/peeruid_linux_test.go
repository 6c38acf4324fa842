package peeruid

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
)

// connect opens a loopback connection and returns both ends' addresses as
// the server sees them.
func connect(t testing.TB, network, addr string) (client, server netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return netip.MustParseAddrPort(s.RemoteAddr().String()), netip.MustParseAddrPort(s.LocalAddr().String())
}

func TestOwnerIsUs(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		client, server := connect(t, tc.network, tc.addr)
		for name, lookup := range map[string]func(netip.AddrPort, netip.AddrPort) (uint32, error){
			"netlink": netlinkOwner, "proc": procOwner, "TCPOwner": TCPOwner,
		} {
			uid, err := lookup(client, server)
			if err != nil || int(uid) != os.Getuid() {
				t.Errorf("%s %s: uid %d, %v; want %d", tc.network, name, uid, err, os.Getuid())
			}
		}
	}
}

func TestNoSuchConnection(t *testing.T) {
	client, server := connect(t, "tcp4", "127.0.0.1:0")
	// The server's own end, asked for as if it were the client's, is a
	// different socket; a made-up port matches nothing.
	bogus := netip.AddrPortFrom(client.Addr(), 1)
	for name, lookup := range map[string]func(netip.AddrPort, netip.AddrPort) (uint32, error){
		"netlink": netlinkOwner, "proc": procOwner,
	} {
		if _, err := lookup(bogus, server); err != ErrNotFound {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func BenchmarkTCPOwner(b *testing.B) {
	client, server := connect(b, "tcp4", "127.0.0.1:0")
	b.Run("netlink", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := netlinkOwner(client, server); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := procOwner(client, server); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestListenerOwner(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := netip.MustParseAddrPort(ln.Addr().String())
	for name, lookup := range map[string]func(netip.AddrPort) (uint32, error){
		"netlink": netlinkListener, "proc": procListener, "ListenerOwner": ListenerOwner,
	} {
		if uid, err := lookup(addr); err != nil || int(uid) != os.Getuid() {
			t.Errorf("%s: uid %d, %v; want %d", name, uid, err, os.Getuid())
		}
	}
	// A listener on every address answers for 127.0.0.1 too.
	wild, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Close()
	port := netip.MustParseAddrPort(wild.Addr().String()).Port()
	for name, lookup := range map[string]func(netip.AddrPort) (uint32, error){"netlink": netlinkListener, "proc": procListener} {
		if uid, err := lookup(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)); err != nil || int(uid) != os.Getuid() {
			t.Errorf("wildcard, %s: uid %d, %v", name, uid, err)
		}
	}
	ln.Close()
	for name, lookup := range map[string]func(netip.AddrPort) (uint32, error){"netlink": netlinkListener, "proc": procListener} {
		if _, err := lookup(addr); err != ErrNotFound {
			t.Errorf("closed, %s: %v, want ErrNotFound", name, err)
		}
	}
}

// TestOneSocketForAll: lookups from many goroutines share one netlink
// socket and each gets its own answer.
func TestOneSocketForAll(t *testing.T) {
	client, server := connect(t, "tcp4", "127.0.0.1:0")
	bogus := netip.AddrPortFrom(client.Addr(), 1)
	done := make(chan error, 64)
	for i := range 64 {
		go func() {
			for range 50 {
				if i%2 == 0 {
					if uid, err := netlinkOwner(client, server); err != nil || int(uid) != os.Getuid() {
						done <- fmt.Errorf("uid %d, %v", uid, err)
						return
					}
				} else if _, err := netlinkOwner(bogus, server); err != ErrNotFound {
					done <- fmt.Errorf("bogus: %v", err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 64 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
