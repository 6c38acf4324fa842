package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"github.com/mfad/mfad/daemon/peeruid"
)

// connOwner is the user owning the client end of one TCP connection,
// looked up once per connection however many requests it carries.
type connOwner struct {
	once sync.Once
	uid  uint32
	err  error
}

type connOwnerKey struct{}

// withConnOwner gives each accepted connection a place for its owner.
func withConnOwner(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connOwnerKey{}, &connOwner{})
}

// sameUserOnly refuses requests arriving over connections that another
// local user opened: every user of the machine can reach a loopback port.
// Where the system offers no lookup (peeruid.ErrUnsupported), it lets
// requests through; the container endpoint's token protects those systems.
func sameUserOnly(next http.Handler, logger *slog.Logger, refused *atomic.Uint64) http.Handler {
	self := uint32(os.Getuid())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		owner, _ := r.Context().Value(connOwnerKey{}).(*connOwner)
		if owner == nil {
			refuseForeign(w, logger, refused, "connection not tracked", 0)
			return
		}
		owner.once.Do(func() { owner.uid, owner.err = lookupOwner(r) })
		switch {
		case errors.Is(owner.err, peeruid.ErrUnsupported):
		case owner.err != nil:
			refuseForeign(w, logger, refused, "owner lookup failed: "+owner.err.Error(), 0)
			return
		case owner.uid != self:
			refuseForeign(w, logger, refused, "connection belongs to another user", owner.uid)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func lookupOwner(r *http.Request) (uint32, error) {
	client, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return 0, err
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local == nil {
		return 0, errors.New("no local address")
	}
	server, err := netip.ParseAddrPort(local.String())
	if err != nil {
		return 0, err
	}
	return peeruid.TCPOwner(client, server)
}

func refuseForeign(w http.ResponseWriter, logger *slog.Logger, refused *atomic.Uint64, reason string, uid uint32) {
	refused.Add(1)
	logger.Warn("refused a request from another user", "reason", reason, "uid", uid)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("Forbidden"))
}
