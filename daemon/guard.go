package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mfad/mfad/daemon/peeruid"
	"github.com/mfad/mfad/imds"
)

// maxConns bounds the IMDS endpoint's open connections, the user's own
// included: each costs a goroutine and buffers, and nothing a person runs
// needs more at once.
const maxConns = 1024

// IdleTrimAfter is how long the endpoint goes without a connection before
// the daemon hands the memory its last requests used back to the system:
// the Go runtime keeps freed heap for reuse up to its next collection
// goal (4 MB), which a daemon idle most of the day does not need. One
// collection per quiet spell, after the last connection closes; never
// while connections are open. Long enough that a burst of SDK calls with
// pauses between them does not pay for it again and again (pages given
// back fault in again when used).
const IdleTrimAfter = 30 * time.Second

// refusalLogEvery is how often refusals of one user are logged: the first
// at once, then a count at most this often, so that a flood cannot fill
// the log.
const refusalLogEvery = time.Minute

// guardedListener accepts only the user's own connections: every local
// user can reach a loopback port. It asks the kernel who owns each new
// connection (peeruid) and closes another user's at once, before reading a
// byte of it, so that no other user can make the daemon read, parse,
// answer, or keep a connection alive. Where the system offers no lookup
// (peeruid.ErrUnsupported) it lets connections through; the container
// endpoint's token protects those systems.
type guardedListener struct {
	net.Listener
	self    uint32
	refused *atomic.Uint64 // connections refused for another user's
	log     *refusalLog
	open    atomic.Int64
	// busy counts connections with a request to answer: accepted and not
	// yet idle, or reading or answering one (http.ConnState), for drain.
	busy atomic.Int64
	// stopped is closed when Accept has returned its last connection.
	stopped     chan struct{}
	stoppedOnce sync.Once
	// quiet fires IdleTrimAfter after the last open connection closed,
	// and trims then if none is open.
	quiet     *time.Timer
	trimAfter time.Duration
	trim      func()
	// reaper closes the connections that wait too long.
	reaper *reaper
}

// newGuardedListener guards l. trim runs once the endpoint has gone
// trimAfter without a connection.
func newGuardedListener(l net.Listener, logger *slog.Logger, refused *atomic.Uint64, trimAfter time.Duration, trim func()) *guardedListener {
	g := &guardedListener{Listener: l, self: uint32(os.Getuid()), refused: refused, stopped: make(chan struct{}),
		log: &refusalLog{logger: logger, every: refusalLogEvery, seen: map[uint32]*refusals{}}, trimAfter: trimAfter, trim: trim,
		reaper: newReaper(connTimeout, reapEvery)}
	g.quiet = time.AfterFunc(trimAfter, g.trimIfQuiet)
	g.quiet.Stop()
	return g
}

// closed counts a connection out; the last one's close starts a quiet
// spell.
func (l *guardedListener) closed() {
	if l.open.Add(-1) == 0 {
		l.quiet.Reset(l.trimAfter)
	}
}

func (l *guardedListener) trimIfQuiet() {
	if l.open.Load() == 0 {
		l.trim()
	}
}

// Accept returns the next connection of the user's own.
func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			l.stoppedOnce.Do(func() { close(l.stopped) })
			return nil, err
		}
		uid, err := connOwner(c)
		switch {
		case errors.Is(err, peeruid.ErrUnsupported):
		case err != nil:
			l.refuse(c, 0, "owner lookup failed: "+err.Error())
			continue
		case uid != l.self:
			l.refuse(c, uid, "connection of another user")
			continue
		}
		if l.open.Add(1) > maxConns {
			l.open.Add(-1)
			l.refuse(c, uid, "too many open connections")
			continue
		}
		// Busy from now: it carries a request (its state starts as
		// http.StateNew, the zero value).
		l.busy.Add(1)
		cc := &countedConn{Conn: c, l: l}
		l.reaper.add(cc)
		return cc, nil
	}
}

// connState follows each connection's state (http.Server.ConnState), to
// count the busy ones.
func (l *guardedListener) connState(c net.Conn, state http.ConnState) {
	cc, ok := c.(*countedConn)
	if !ok {
		return
	}
	busy := func(s http.ConnState) bool { return s == http.StateNew || s == http.StateActive }
	was := http.ConnState(cc.state.Swap(int32(state)))
	switch {
	case busy(state) && !busy(was):
		l.busy.Add(1)
	case !busy(state) && busy(was):
		l.busy.Add(-1)
	}
}

// server is the HTTP server of the IMDS endpoint, serving h on the
// connections l accepts.
func (l *guardedListener) server(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:   l.reaper.timed(h),
		ConnState: l.connState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return withConn(imds.ConnContext(ctx, c), c)
		},
		// No read deadlines: the reaper times connections (connTimeout).
		ReadHeaderTimeout: -1,
		IdleTimeout:       -1,
		// No WriteTimeout: every answer is a few hundred bytes, which the
		// socket buffer takes at once.
		MaxHeaderBytes: 16 << 10,
		// "OPTIONS *" goes through the same checks as every request,
		// not net/http's own answer.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

// drain stops accepting and waits, up to timeout, until every connection
// taken has had its request answered. net/http's Shutdown does not wait
// for that: a request it reads after Shutdown began goes unanswered, and
// the client sees its connection closed. Under socket activation the
// connections not taken wait in the kernel's queue for the next daemon.
func (l *guardedListener) drain(timeout time.Duration) {
	l.Listener.Close()
	deadline := time.Now().Add(timeout)
	// A connection the kernel handed over as the listener closed is
	// counted once Accept returns it: wait for the last Accept first.
	select {
	case <-l.stopped:
	case <-time.After(timeout):
	}
	for l.busy.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// refuse closes c at once, with a reset: nothing of it is read, and no
// TIME_WAIT state is left behind.
func (l *guardedListener) refuse(c net.Conn, uid uint32, reason string) {
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	c.Close()
	l.refused.Add(1)
	l.log.note(uid, reason, time.Now())
}

func connOwner(c net.Conn) (uint32, error) {
	client, err := addrPort(c.RemoteAddr())
	if err != nil {
		return 0, err
	}
	server, err := addrPort(c.LocalAddr())
	if err != nil {
		return 0, err
	}
	return peeruid.TCPOwner(client, server)
}

// addrPort is a's address and port, read without formatting and parsing
// it for a TCP address.
func addrPort(a net.Addr) (netip.AddrPort, error) {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.AddrPort(), nil
	}
	return netip.ParseAddrPort(a.String())
}

// countedConn gives its place back when closed.
type countedConn struct {
	net.Conn
	l      *guardedListener
	closed sync.Once
	state  atomic.Int32 // its http.ConnState, for guardedListener.connState; starts as StateNew
	// For the reaper: when its current wait began (reaper.now), and
	// whether a handler is answering it, untimed.
	since     atomic.Int64
	inHandler atomic.Bool
}

func (c *countedConn) Close() error {
	c.closed.Do(func() {
		c.l.reaper.remove(c)
		c.l.closed()
	})
	return c.Conn.Close()
}

// connStackReserve is the stack frame countedConn.RemoteAddr takes, so
// that a connection's goroutine grows its stack once, at its start.
const connStackReserve = 4 << 10

// RemoteAddr is the peer's address. It is also net/http's first call in
// each connection's goroutine, and its frame (never written: only its
// size counts) grows that goroutine's stack from the runtime's 2 kB to
// 8 kB at once. Each connection's goroutine needs 8 kB before its first
// answer is out (net/http's chunkWriter.writeHeader alone has a 2.8 kB
// frame), and got there in two growths, each a copy of its stack frame
// by frame, the second a dozen calls deep in the container endpoint's
// handler: 8% of the daemon's CPU per new container connection, 1.5% now
// (bare net/http: 5–7%). Nothing else depends on it: were net/http to call
// it later, the stack would grow as before.
func (c *countedConn) RemoteAddr() net.Addr {
	var reserve [connStackReserve]byte
	runtime.KeepAlive(&reserve)
	return c.Conn.RemoteAddr()
}

// refusalLog logs refusals by user: the first at once, then how many
// followed, at most once per every.
type refusalLog struct {
	logger *slog.Logger
	every  time.Duration

	mu   sync.Mutex
	seen map[uint32]*refusals
}

type refusals struct {
	logged  time.Time
	pending int
}

func (r *refusalLog) note(uid uint32, reason string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen[uid]
	if s == nil {
		s = &refusals{}
		r.seen[uid] = s
	}
	s.pending++
	if !s.logged.IsZero() && now.Sub(s.logged) < r.every {
		return
	}
	r.logger.Warn("refused connections to the IMDS endpoint", "uid", uid, "reason", reason, "count", s.pending,
		"since", s.logged.Format(time.RFC3339))
	s.logged, s.pending = now, 0
}
