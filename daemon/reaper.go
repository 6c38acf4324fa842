package daemon

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// connTimeout bounds each wait on an IMDS connection: for a request's
// headers after the connection opened or went idle (a slowloris, a client
// that leaks connections), and for the rest of a request once its handler
// has answered (a body trickled in).
//
// The reaper enforces it, not net/http's read deadlines: net/http arms
// each of those as a runtime timer and moves it three times per request
// (idle, headers, whole request, then clears it), which measured 7% of
// the daemon's CPU per kept-alive credential fetch on the benchmark's
// 2-core machine; a timer earlier than the one the network poller sleeps
// until also wakes the poller (an eventfd written and read, another
// epoll_wait). The reaper looks at the open connections once a second,
// while there are any. A connection's wait begins when it is accepted and
// again whenever a handler has answered it; one still waiting 5 s later
// is closed before 6 s have passed. Handlers are not timed: they bound
// their own waits (a restore, an STS call), as before; but a request
// with a body, which no IMDS request has, is timed throughout.
const connTimeout = 5 * time.Second

// listenTCP listens on addr for the IMDS endpoint. Its connections get no
// TCP keep-alive probes: the reaper closes an idle connection after
// connTimeout, long before the first probe (15 s) would go out, and on
// loopback a probe learns nothing. Go arms them with four setsockopt calls
// on every accepted connection otherwise. (A listener handed over by
// systemd's socket activation is net.FileListener's, which arms them: Go
// has no way to say otherwise for it.)
func listenTCP(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(ctx, "tcp", addr)
}

// reapEvery is how often the reaper looks at the open connections.
const reapEvery = time.Second

// reaper closes connections that wait too long (connTimeout).
type reaper struct {
	timeout, every time.Duration
	epoch          time.Time // since is measured from it, on the monotonic clock
	timer          *time.Timer

	mu    sync.Mutex
	conns map[*countedConn]struct{}
}

// newReaper times connections out after timeout, looking every so often.
func newReaper(timeout, every time.Duration) *reaper {
	r := &reaper{timeout: timeout, every: every, epoch: time.Now(), conns: map[*countedConn]struct{}{}}
	r.timer = time.AfterFunc(every, r.reap)
	r.timer.Stop()
	return r
}

// now is the time since the reaper's epoch: a monotonic clock read.
func (r *reaper) now() int64 { return int64(time.Since(r.epoch)) }

// add starts timing c, which has just been accepted; the first open
// connection starts the reaper's rounds.
func (r *reaper) add(c *countedConn) {
	c.since.Store(r.now())
	r.mu.Lock()
	r.conns[c] = struct{}{}
	if len(r.conns) == 1 {
		r.timer.Reset(r.every)
	}
	r.mu.Unlock()
}

func (r *reaper) remove(c *countedConn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// overdue reports whether c has waited longer than the timeout: for a
// request (new or idle), or for the rest of one its handler answered.
// A handler at work is not timed.
func (r *reaper) overdue(c *countedConn, now int64) bool {
	if c.inHandler.Load() {
		return false
	}
	return now-c.since.Load() > int64(r.timeout)
}

// reap closes the overdue connections, and goes on while any is open.
func (r *reaper) reap() {
	now := r.now()
	var late []*countedConn
	r.mu.Lock()
	for c := range r.conns {
		if r.overdue(c, now) {
			late = append(late, c)
		}
	}
	// Another round while any connection is in the set, the late ones
	// included: they leave it only as they close, below, and one
	// accepted meanwhile (not the first in the set, so add does not
	// start a round) must still be timed.
	if len(r.conns) > 0 {
		r.timer.Reset(r.every)
	}
	r.mu.Unlock()
	for _, c := range late {
		c.Close()
	}
}

// connKey carries the connection in its requests' contexts, for timed.
type connKey struct{}

func withConn(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*countedConn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

// timed marks each request's connection as in its handler while h runs,
// and restarts its wait when h returns: from then on net/http only
// finishes the request (reads what is left of a body, sends the answer).
// A request with a body stays timed in its handler too: no IMDS request
// has one, and net/http may read it while the handler writes.
func (r *reaper) timed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c, _ := req.Context().Value(connKey{}).(*countedConn)
		if c == nil || req.ContentLength != 0 {
			h.ServeHTTP(w, req)
			return
		}
		c.inHandler.Store(true)
		defer func() {
			c.since.Store(r.now())
			c.inHandler.Store(false)
		}()
		h.ServeHTTP(w, req)
	})
}
