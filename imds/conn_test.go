package imds

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawConn sends requests on one connection of its own, as an SDK's
// kept-alive client does.
type rawConn struct {
	c    net.Conn
	r    *bufio.Reader
	host string
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c: c, r: bufio.NewReader(c), host: addr}
}

// do sends one request with header lines ("Name: value") and returns the
// status and body.
func (c *rawConn) do(t *testing.T, method, path string, header ...string) (int, string) {
	t.Helper()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, c.host)
	for _, h := range header {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c.c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestConnContextTokens: a token the handler knows for a connection (it
// issued it there, or checked it there) is taken on that connection
// without a hash, and must be judged exactly as a hashed one: valid until
// its expiry, on any connection, and no other token passes for it.
func TestConnContextTokens(t *testing.T) {
	var mu sync.Mutex
	now := testNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newTestHandler(unlockedSource(), Options{Now: clock})
	srv := httptest.NewUnstartedServer(h)
	// The facts of each connection, by the client's address, to look into.
	var facts sync.Map
	srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		ctx = ConnContext(ctx, c)
		facts.Store(c.RemoteAddr().String(), connFactsOf(ctx))
		return ctx
	}
	srv.Start()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	factsOf := func(c *rawConn) *connFacts {
		f, ok := facts.Load(c.c.LocalAddr().String())
		if !ok {
			t.Fatal("no facts recorded for the connection")
		}
		return f.(*connFacts)
	}
	get := func(c *rawConn, token string) int {
		status, _ := c.do(t, "GET", credentialsSlash+"default", TokenHeader+": "+token)
		return status
	}

	a := dialRaw(t, addr)
	status, token := a.do(t, "PUT", tokenPath, TokenTTLHeader+": 60")
	if status != http.StatusOK || len(token) != tokenEncodedLen {
		t.Fatalf("PUT token: %d %q", status, token)
	}
	if expires, ok := factsOf(a).known(token); !ok || expires != testNow.Add(60*time.Second).Unix() {
		t.Fatalf("the connection does not know the token it was issued: %d %v", expires, ok)
	}
	if got := get(a, token); got != http.StatusOK {
		t.Fatalf("the token on its own connection: %d", got)
	}

	// Another connection checks it, and knows it from then on.
	b := dialRaw(t, addr)
	if status, _ := b.do(t, "GET", credentialsSlash); status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", status)
	}
	if _, ok := factsOf(b).known(token); ok {
		t.Fatal("a new connection knows a token before it was sent there")
	}
	if got := get(b, token); got != http.StatusOK {
		t.Fatalf("the token on another connection: %d", got)
	}
	if _, ok := factsOf(b).known(token); !ok {
		t.Fatal("a token checked on a connection is not remembered there")
	}

	// Nothing but the very token passes for it.
	last := token[len(token)-1:]
	flip := map[string]string{"A": "B"}[last]
	if flip == "" {
		flip = "A"
	}
	for name, forged := range map[string]string{
		"one character changed": token[:len(token)-1] + flip,
		"shorter":               token[:len(token)-1],
		"longer":                token + "A",
		"issued by another key": newTestHandler(unlockedSource(), Options{Now: clock}).tokens.issue(testNow.Add(time.Hour)),
	} {
		if got := get(a, forged); got != http.StatusUnauthorized {
			t.Errorf("%s, on the connection that knows the token: %d, want 401", name, got)
		}
	}
	if got := get(a, token); got != http.StatusOK {
		t.Fatalf("the token after forgeries on its connection: %d", got)
	}

	// Expired: refused on every connection, known or not.
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	c := dialRaw(t, addr)
	for name, conn := range map[string]*rawConn{"issued on": a, "checked on": b, "new": c} {
		if got := get(conn, token); got != http.StatusUnauthorized {
			t.Errorf("expired token on the connection it was %s: %d, want 401", name, got)
		}
	}
}

// TestConnContextPeer: with ConnContext, the peer and port checks read the
// connection's addresses once, and refuse as they do from the request.
func TestConnContextPeer(t *testing.T) {
	h := newTestHandler(unlockedSource(), Options{})
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9911}
	for _, tc := range []struct {
		name          string
		remote, local net.Addr
		want          int
	}{
		{"loopback peer", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, local, http.StatusOK},
		{"IPv4-mapped loopback peer", &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 40000}, local, http.StatusOK},
		{"IPv6 loopback peer", &net.TCPAddr{IP: net.IPv6loopback, Port: 40000}, local, http.StatusOK},
		// The request itself says 127.0.0.1: the connection decides.
		{"remote peer", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}, local, http.StatusForbidden},
		{"another port than the Host's", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9912}, http.StatusForbidden},
		{"addresses that are not TCP", fakeAddr("127.0.0.1:40000"), fakeAddr("127.0.0.1:9911"), http.StatusOK},
		{"unreadable addresses", fakeAddr("pipe"), fakeAddr("pipe"), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest("PUT", tokenPath, map[string]string{TokenTTLHeader: "60"})
			r = r.WithContext(context.WithValue(r.Context(), connKey{}, newConnFacts(tc.remote, tc.local)))
			if got := serve(h, r).Code; got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }
