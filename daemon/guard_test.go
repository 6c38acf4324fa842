package daemon

import (
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdleTrim: the memory trim runs once the endpoint has gone a while
// without a connection, once per quiet spell, and never while one is open
// (a client keeping a connection alive, an SDK between requests).
func TestIdleTrim(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const after = 10 * time.Millisecond
	trims := make(chan struct{}, 10)
	var refused atomic.Uint64
	g := newGuardedListener(ln, slog.New(slog.NewTextHandler(io.Discard, nil)), &refused, after, func() { trims <- struct{}{} })
	defer g.Close()
	connect := func() (client, server net.Conn) {
		t.Helper()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		if server, err = g.Accept(); err != nil {
			t.Fatal(err)
		}
		return client, server
	}
	noTrim := func(while string) {
		t.Helper()
		select {
		case <-trims:
			t.Fatalf("trimmed %s", while)
		case <-time.After(20 * after):
		}
	}
	trimmed := func(when string) {
		t.Helper()
		select {
		case <-trims:
		case <-time.After(5 * time.Second):
			t.Fatalf("no trim %s", when)
		}
	}

	noTrim("before any connection")
	_, first := connect()
	_, second := connect()
	first.Close()
	noTrim("while a connection is open")
	second.Close()
	trimmed("after the last connection closed")
	noTrim("twice for one quiet spell")
	_, third := connect()
	third.Close()
	third.Close() // closed twice (net/http and the drain both may): counted once
	trimmed("after the next quiet spell")
	if g.open.Load() != 0 {
		t.Fatalf("%d connections counted open", g.open.Load())
	}
}
