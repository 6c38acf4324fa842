package daemon

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// connectGuarded opens a connection to g and returns both its ends, the
// server's as g accepted it; the client's closes with the test.
func connectGuarded(t *testing.T, g *guardedListener) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if server, err = g.Accept(); err != nil {
		t.Fatal(err)
	}
	return client, server
}

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
		return connectGuarded(t, g)
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

// TestIdleTrimSpellRestarts: a connection that comes and goes during a
// quiet spell starts it again: the trim comes the full wait after the
// last close, not when the first spell would have ended.
func TestIdleTrimSpellRestarts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const after = 400 * time.Millisecond
	trims := make(chan time.Time, 10)
	var refused atomic.Uint64
	g := newGuardedListener(ln, slog.New(slog.NewTextHandler(io.Discard, nil)), &refused, after, func() { trims <- time.Now() })
	defer g.Close()
	connectAndClose := func() {
		t.Helper()
		_, server := connectGuarded(t, g)
		server.Close()
	}
	connectAndClose()
	select {
	case <-trims:
		t.Fatal("trimmed half way through the quiet spell")
	case <-time.After(after / 2):
	}
	connectAndClose()
	lastClose := time.Now()
	select {
	case at := <-trims:
		if waited := at.Sub(lastClose); waited < after {
			t.Fatalf("trimmed %s after the last close, want %s or more", waited, after)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no trim after the last quiet spell")
	}
}

// deepFrame is about the stack net/http's answer takes below a handler
// (chunkWriter.writeHeader's frame is 2.8 kB).
const deepFrame = 3 << 10

// stackMoves reports whether calling a function with a deepFrame frame
// moves the calling goroutine's stack: the runtime grows a stack by
// copying it elsewhere.
//
//go:noinline
func stackMoves() bool {
	var marker byte
	before := uintptr(unsafe.Pointer(&marker))
	useDeepFrame()
	return uintptr(unsafe.Pointer(&marker)) != before
}

//go:noinline
func useDeepFrame() {
	var frame [deepFrame]byte
	runtime.KeepAlive(&frame)
}

// TestConnStackReserved: a connection's handler runs with room for
// net/http's deepest frames on its goroutine's stack, reserved once at
// the goroutine's start (countedConn.RemoteAddr), so that its stack is
// not copied again under a handler's calls, on the first request or any
// other. Fails if the reservation is gone, or if net/http no longer
// calls RemoteAddr on the connection's goroutine before its handlers.
func TestConnStackReserved(t *testing.T) {
	// A collection may halve a stack that uses little of itself (and
	// the next deep call grows it again): none during the test.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var moved atomic.Int32
	addr := serveGuarded(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stackMoves() {
			moved.Add(1)
		}
		io.WriteString(w, "ok")
	}), connTimeout, nil)
	const conns, requests = 20, 3
	for range conns {
		client := &http.Client{Transport: &http.Transport{}}
		for range requests {
			resp, err := client.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		client.CloseIdleConnections()
	}
	if n := moved.Load(); n != 0 {
		t.Errorf("the stack moved under %d of %d handlers, want none: room for a %d-byte frame was not reserved", n, conns*requests, deepFrame)
	}
}
