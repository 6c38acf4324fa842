package imds

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// refusal returns the status to refuse r with and why, or 0 when r may be
// served. These checks stop the ways other parties reach a loopback port:
// other hosts, web pages (DNS rebinding, cross-site requests) and proxies.
// Checks that need the operating system, such as the peer's user, belong to
// whoever owns the listener.
func refusal(r *http.Request) (status int, reason string) {
	if !strings.HasPrefix(r.RequestURI, "/") {
		// Absolute-form targets ("GET http://evil/ HTTP/1.1") are what
		// proxies receive; an SDK never sends one.
		return http.StatusBadRequest, "request target is not a path"
	}
	if !loopbackPeer(r.RemoteAddr) {
		return http.StatusForbidden, "peer is not on loopback"
	}
	if !allowedHost(r) {
		return http.StatusForbidden, "host header is not a loopback name for this port"
	}
	for name := range r.Header {
		// SDKs send neither; browsers send them on every cross-site request.
		if name == "Origin" || strings.HasPrefix(name, "Sec-Fetch-") {
			return http.StatusForbidden, "request comes from a web browser"
		}
	}
	return 0, ""
}

func loopbackPeer(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// allowedHost reports whether r's Host names this listener by a loopback
// name. An exact allowlist defeats DNS rebinding: a rebound name reaches the
// port but carries the attacker's host name.
func allowedHost(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ap, err := netip.ParseAddrPort(local.String())
	if err != nil {
		return false
	}
	port := strconv.Itoa(int(ap.Port()))
	switch r.Host {
	case "127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port:
		return true
	case "127.0.0.1", "localhost", "[::1]":
		return port == "80"
	}
	return false
}
