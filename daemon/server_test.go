package daemon

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// deadlineLog records every read deadline the server sets on its
// connections, in the order it sets them.
type deadlineLog struct {
	mu        sync.Mutex
	deadlines []time.Time
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
	return deadlineConn{c, l.log}, nil
}

type deadlineConn struct {
	net.Conn
	log *deadlineLog
}

func (c deadlineConn) SetReadDeadline(t time.Time) error {
	c.log.mu.Lock()
	// Only deadlines to wait for: net/http also clears them (zero) and
	// sets one long past to stop a read at once, neither a timer.
	if t.After(time.Now()) {
		c.log.deadlines = append(c.log.deadlines, t)
	}
	c.log.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// TestDeadlinesOnlyMoveLater: each read deadline the IMDS server sets on a
// connection falls due after every one it set before, on any connection,
// through whole credential fetches on kept-alive connections. A deadline
// earlier than one already armed wakes the runtime's network poller (an
// eventfd written and read, another epoll_wait) on every request, which a
// shorter header timeout than the idle one did.
func TestDeadlinesOnlyMoveLater(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &deadlineLog{}
	srv := newIMDSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	go srv.Serve(deadlineListener{ln, log})
	defer srv.Close()

	// Two SDKs, each on its own kept-alive connection, taking turns.
	clients := []*http.Client{{Transport: &http.Transport{}}, {Transport: &http.Transport{}}}
	for range 5 {
		for _, c := range clients {
			for _, req := range []struct{ method, path string }{
				{"PUT", "/latest/api/token"},
				{"GET", "/latest/meta-data/iam/security-credentials/"},
				{"GET", "/latest/meta-data/iam/security-credentials/default"},
			} {
				r, _ := http.NewRequest(req.method, "http://"+ln.Addr().String()+req.path, nil)
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
	if len(log.deadlines) < 2*5*3 {
		t.Fatalf("%d read deadlines set for 30 requests: the server arms fewer timeouts than it should", len(log.deadlines))
	}
	// Two connections' goroutines may set theirs a few microseconds
	// apart in either order; what must not happen is a deadline seconds
	// before one already armed.
	const slack = time.Second
	latest := log.deadlines[0]
	for i, d := range log.deadlines {
		if d.Before(latest.Add(-slack)) {
			t.Fatalf("deadline %d falls due %s before one set earlier: the timeouts differ (header, request, idle)", i, latest.Sub(d).Round(time.Millisecond))
		}
		if d.After(latest) {
			latest = d
		}
	}
}
