package imds

import (
	"context"
	"net"
	"net/netip"
	"sync"
)

// ConnContext is for http.Server.ConnContext: it records in ctx what the
// handler would otherwise work out again on every request of connection c.
// An SDK makes all the requests of a credential fetch on one kept-alive
// connection, so the handler then checks the peer's address and the
// listener's port once per connection, and hashes a token once: the one
// it issued on the connection, or the first one sent on it, is known
// valid until its expiry when sent again. Without it, every request is
// checked from scratch, with the same outcome.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, newConnFacts(c.RemoteAddr(), c.LocalAddr()))
}

type connKey struct{}

// connFacts are what the handler knows of one connection.
type connFacts struct {
	loopbackPeer bool // the peer's address is a loopback one
	port         int  // the listener's port, or 0

	// The token last issued or found valid on the connection, and its
	// expiry. Locked although net/http serves a connection's requests
	// one after another: a token and its expiry must never be read torn.
	mu       sync.Mutex
	token    encodedToken
	hasToken bool
	expires  int64 // Unix seconds
}

func newConnFacts(remote, local net.Addr) *connFacts {
	f := &connFacts{}
	if peer, err := addrPort(remote); err == nil {
		f.loopbackPeer = peer.Addr().Unmap().IsLoopback()
	}
	if l, err := addrPort(local); err == nil {
		f.port = int(l.Port())
	}
	return f
}

// connFactsOf returns the facts ConnContext recorded for r's connection,
// or nil.
func connFactsOf(ctx context.Context) *connFacts {
	f, _ := ctx.Value(connKey{}).(*connFacts)
	return f
}

// addrPort is a's address and port, read without formatting and parsing
// it for a TCP address.
func addrPort(a net.Addr) (netip.AddrPort, error) {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.AddrPort(), nil
	}
	return netip.ParseAddrPort(a.String())
}

// remember records token, valid until expires, as the connection's.
func (f *connFacts) remember(token *encodedToken, expires int64) {
	f.mu.Lock()
	f.token, f.hasToken, f.expires = *token, true, expires
	f.mu.Unlock()
}

// known reports whether sent is the connection's token, and if so, its
// expiry. The comparison takes the same time wherever sent differs.
func (f *connFacts) known(sent string) (expires int64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.hasToken || len(sent) != len(f.token) {
		return 0, false
	}
	var diff byte
	for i := range f.token {
		diff |= sent[i] ^ f.token[i]
	}
	return f.expires, diff == 0
}
