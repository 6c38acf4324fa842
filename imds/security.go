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
//
// conn holds what ConnContext recorded of r's connection; without it (nil)
// the peer and the port are read from r.
func refusal(r *http.Request, conn *connFacts) (status int, reason string) {
	if !strings.HasPrefix(r.RequestURI, "/") {
		// Absolute-form targets ("GET http://evil/ HTTP/1.1") are what
		// proxies receive; an SDK never sends one.
		return http.StatusBadRequest, "request target is not a path"
	}
	var loopback bool
	var port int
	if conn != nil {
		loopback, port = conn.loopbackPeer, conn.port
	} else {
		loopback, port = loopbackPeer(r.RemoteAddr), localPort(r)
	}
	if !loopback {
		return http.StatusForbidden, "peer is not on loopback"
	}
	if !allowedHost(r.Host, port) {
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

// allowedHost reports whether host (a request's Host) names the listener
// at port by a loopback name. An exact allowlist defeats DNS rebinding: a
// rebound name reaches the port but carries the attacker's host name.
func allowedHost(host string, port int) bool {
	if port == 0 {
		return false
	}
	portText := ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host, portText = host[:i], host[i+1:]
	}
	switch host {
	case "127.0.0.1", "localhost", "[::1]":
	default:
		return false
	}
	if portText == "" {
		return port == 80
	}
	n, err := strconv.Atoi(portText)
	return err == nil && n == port && portText[0] != '0' && portText[0] != '+'
}

// localPort is the port of the listener r arrived on, or 0.
func localPort(r *http.Request) int {
	switch local := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return local.Port
	case net.Addr:
		if ap, err := netip.ParseAddrPort(local.String()); err == nil {
			return int(ap.Port())
		}
	}
	return 0
}
