package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deadlineLog records the read deadlines set on connections.
type deadlineLog struct {
	mu    sync.Mutex
	armed int // deadlines to wait for: in the future
}

type deadlineListener struct {
	net.Listener
	log *deadlineLog
}

func (l deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return deadlineConn{c.(*net.TCPConn), l.log}, nil
}

// deadlineConn is a TCP connection that counts its deadlines; its
// addresses are the TCP connection's, for the owner lookup.
type deadlineConn struct {
	*net.TCPConn
	log *deadlineLog
}

func (c deadlineConn) SetReadDeadline(t time.Time) error {
	// net/http also clears deadlines (zero) and sets one long past to
	// stop a read at once: neither arms a timer.
	if t.After(time.Now()) {
		c.log.mu.Lock()
		c.log.armed++
		c.log.mu.Unlock()
	}
	return c.TCPConn.SetReadDeadline(t)
}

// serveGuarded serves h on a guarded loopback listener whose reaper times
// connections out after timeout, and returns its address.
func serveGuarded(t *testing.T, h http.Handler, timeout time.Duration, wrap func(net.Listener) net.Listener) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var refused atomic.Uint64
	g := newGuardedListener(ln, logger, &refused, time.Hour, func() {})
	g.reaper = newReaper(timeout, timeout/10)
	srv := g.server(h, logger)
	go srv.Serve(g)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

var answerOK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

// TestNoReadDeadlines: through whole credential fetches on kept-alive
// connections, the IMDS server arms no read deadline. Each was a runtime
// timer that net/http moved three times per request (7% of the daemon's
// CPU per kept-alive fetch); the reaper times connections instead.
func TestNoReadDeadlines(t *testing.T) {
	log := &deadlineLog{}
	addr := serveGuarded(t, answerOK, connTimeout, func(ln net.Listener) net.Listener { return deadlineListener{ln, log} })
	clients := []*http.Client{{Transport: &http.Transport{}}, {Transport: &http.Transport{}}}
	for range 5 {
		for _, c := range clients {
			for _, req := range []struct{ method, path string }{
				{"PUT", "/latest/api/token"},
				{"GET", "/latest/meta-data/iam/security-credentials/"},
				{"GET", "/latest/meta-data/iam/security-credentials/default"},
			} {
				r, _ := http.NewRequest(req.method, "http://"+addr+req.path, nil)
				resp, err := c.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if log.armed != 0 {
		t.Errorf("%d read deadlines armed for 30 requests, want none", log.armed)
	}
}

// closedByServer waits for the server to close conn, reading what it
// sends; it fails the test if conn is still open after within.
func closedByServer(t *testing.T, conn net.Conn, within time.Duration) string {
	t.Helper()
	got, err := waitClosed(conn, within)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func waitClosed(conn net.Conn, within time.Duration) (string, error) {
	conn.SetReadDeadline(time.Now().Add(within))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(got), fmt.Errorf("connection still open after %s; read %q", within, got)
	}
	return string(got), nil
}

// TestReaper: the reaper closes a connection that waits too long for its
// request's headers, stays idle, or trickles a body; it leaves alone a
// handler that takes its time, and connections that keep to the limit.
func TestReaper(t *testing.T) {
	const timeout = 200 * time.Millisecond
	slow := make(chan struct{})
	addr := serveGuarded(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-slow
		}
		io.WriteString(w, "ok")
	}), timeout, nil)
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	const request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

	t.Run("after a spell with no connection", func(t *testing.T) {
		// The rounds stop once one finds no connection, and the next
		// connection starts them again.
		closedByServer(t, dial(), 20*timeout)
		<-time.After(5 * timeout / 10) // five rounds
		closedByServer(t, dial(), 20*timeout)
	})
	t.Run("headers never finished", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
		if got := closedByServer(t, c, 20*timeout); got != "" {
			t.Errorf("answered an unfinished request: %q", got)
		}
	})
	t.Run("no request at all", func(t *testing.T) {
		closedByServer(t, dial(), 20*timeout)
	})
	t.Run("idle after a request", func(t *testing.T) {
		c := dial()
		io.WriteString(c, request)
		if got := closedByServer(t, c, 20*timeout); !strings.HasPrefix(got, "HTTP/1.1 200 OK") {
			t.Errorf("answer %q", got)
		}
	})
	t.Run("a body trickled", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "PUT / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nsome")
		closedByServer(t, c, 20*timeout)
	})
	// reaped returns once the reaper has closed a connection opened now:
	// a timeout and a round of the reaper have passed.
	reaped := func() <-chan error {
		probe := dial()
		done := make(chan error, 1)
		go func() {
			_, err := waitClosed(probe, 20*timeout)
			done <- err
		}()
		return done
	}

	t.Run("a slow handler", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		// Timeouts pass while the handler works (an idle connection
		// opened after it is closed, twice); the connection must still
		// carry its answer.
		for range 2 {
			if err := <-reaped(); err != nil {
				t.Fatal(err)
			}
		}
		close(slow)
		c.SetReadDeadline(time.Now().Add(20 * timeout))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer after a slow handler: %v", err)
		}
		resp.Body.Close()
	})
	t.Run("requests within the limit", func(t *testing.T) {
		c := dial()
		in := bufio.NewReader(c)
		ask := func() error {
			io.WriteString(c, request)
			c.SetReadDeadline(time.Now().Add(20 * timeout))
			resp, err := http.ReadResponse(in, nil)
			if err != nil {
				return fmt.Errorf("kept-alive connection closed while in use: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}
		// Requests one after another for longer than the timeout (an
		// idle connection opened after the first is closed meanwhile):
		// the wait restarts with each.
		if err := ask(); err != nil {
			t.Fatal(err)
		}
		for done := reaped(); ; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				if err := ask(); err != nil {
					t.Fatal(err)
				}
				return
			default:
			}
			if err := ask(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
