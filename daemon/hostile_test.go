//go:build unix

package daemon

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestHostileRequests sends, as raw bytes to a live daemon with an unlocked
// session, the requests a web page, a proxy, an SSRF-prone app or a
// misbehaving client can make. Each is refused with the right status and
// never carries a credential.
func TestHostileRequests(t *testing.T) {
	r := startUnlocked(t)
	tok := r.token(t)
	host := fmt.Sprintf("127.0.0.1:%d", r.port)
	creds := "/latest/meta-data/iam/security-credentials/default"
	get := func(target string, headers ...string) string {
		return "GET " + target + " HTTP/1.1\r\n" + strings.Join(headers, "\r\n") + "\r\nConnection: close\r\n\r\n"
	}
	withToken := "X-aws-ec2-metadata-token: " + tok
	hostHdr := "Host: " + host
	putToken := func(headers ...string) string {
		return "PUT /latest/api/token HTTP/1.1\r\n" + hostHdr + "\r\n" + strings.Join(headers, "\r\n") + "\r\nConnection: close\r\n\r\n"
	}

	// The request every refusal is a variant of succeeds.
	if a := r.raw(t, get(creds, hostHdr, withToken)); a.status != 200 || !strings.Contains(a.body, r.creds.SecretAccessKey) {
		t.Fatalf("control request: %d %s", a.status, a.body)
	}

	for _, tc := range []struct {
		name    string
		request string
		status  int
	}{
		// DNS rebinding: the attacker's name, or a name that is not exactly ours.
		{"rebound host", get(creds, "Host: evil.example:"+fmt.Sprint(r.port), withToken), 403},
		{"trailing-dot localhost", get(creds, "Host: localhost.:"+fmt.Sprint(r.port), withToken), 403},
		{"localhost suffix", get(creds, "Host: LOCALHOST.evil.com:"+fmt.Sprint(r.port), withToken), 403},
		{"upper-case localhost", get(creds, "Host: LOCALHOST:"+fmt.Sprint(r.port), withToken), 403},
		{"other port", get(creds, fmt.Sprintf("Host: 127.0.0.1:%d", r.port+1), withToken), 403},
		{"no port", get(creds, "Host: 127.0.0.1", withToken), 403},
		{"any address", get(creds, "Host: 0.0.0.0:"+fmt.Sprint(r.port), withToken), 403},
		{"short loopback", get(creds, "Host: 127.1:"+fmt.Sprint(r.port), withToken), 403},
		{"decimal loopback", get(creds, "Host: 2130706433:"+fmt.Sprint(r.port), withToken), 403},
		{"HTTP/1.0 without host", "GET " + creds + " HTTP/1.0\r\n" + withToken + "\r\n\r\n", 403},
		{"HTTP/1.1 without host", get(creds, withToken), 400},
		{"duplicate host", get(creds, hostHdr, "Host: evil.example", withToken), 400},
		// Browsers.
		{"origin", get(creds, hostHdr, withToken, "Origin: https://evil.example"), 403},
		{"null origin", get(creds, hostHdr, withToken, "Origin: null"), 403},
		{"sec-fetch-site", get(creds, hostHdr, withToken, "Sec-Fetch-Site: cross-site"), 403},
		{"sec-fetch-mode", get(creds, hostHdr, withToken, "Sec-Fetch-Mode: no-cors"), 403},
		{"sec-fetch-dest", get(creds, hostHdr, withToken, "Sec-Fetch-Dest: empty"), 403},
		{"CORS preflight", "OPTIONS " + creds + " HTTP/1.1\r\n" + hostHdr + "\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\nConnection: close\r\n\r\n", 403},
		{"OPTIONS", "OPTIONS " + creds + " HTTP/1.1\r\n" + hostHdr + "\r\nConnection: close\r\n\r\n", 405},
		{"OPTIONS *, which net/http answers itself unless told not to", "OPTIONS * HTTP/1.1\r\n" + hostHdr + "\r\nConnection: close\r\n\r\n", 400},
		{"OPTIONS * from a web page", "OPTIONS * HTTP/1.1\r\n" + hostHdr + "\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n", 400},
		// Proxies and SSRF.
		{"absolute-form target", get("http://"+host+creds, hostHdr, withToken), 400},
		{"absolute-form other host", get("http://evil.example"+creds, hostHdr, withToken), 400},
		{"CONNECT", "CONNECT " + host + " HTTP/1.1\r\n" + hostHdr + "\r\nConnection: close\r\n\r\n", 400},
		{"forwarded token request", putToken("X-aws-ec2-metadata-token-ttl-seconds: 300", "X-Forwarded-For: 203.0.113.7"), 403},
		{"forwarded token request, empty", putToken("X-aws-ec2-metadata-token-ttl-seconds: 300", "X-Forwarded-For: "), 403},
		// Tokens.
		{"no token", get(creds, hostHdr), 401},
		{"forged token", get(creds, hostHdr, "X-aws-ec2-metadata-token: "+strings.Repeat("A", len(tok))), 401},
		{"tampered token", get(creds, hostHdr, "X-aws-ec2-metadata-token: "+tok[:len(tok)-2]+"AA"), 401},
		{"two tokens", get(creds, hostHdr, withToken, withToken), 401},
		{"token in query", get(creds+"?token="+tok, hostHdr), 401},
		{"token TTL zero", putToken("X-aws-ec2-metadata-token-ttl-seconds: 0"), 400},
		{"token TTL too long", putToken("X-aws-ec2-metadata-token-ttl-seconds: 21601"), 400},
		{"token without TTL", putToken(), 400},
		{"GET on token path", get("/latest/api/token", hostHdr, "X-aws-ec2-metadata-token-ttl-seconds: 300"), 405},
		// Wrong methods, paths and protocol.
		{"POST credentials", "POST " + creds + " HTTP/1.1\r\n" + hostHdr + "\r\n" + withToken + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405},
		{"other role", get("/latest/meta-data/iam/security-credentials/admin", hostHdr, withToken), 404},
		{"NUL in path", get(creds+"%00", hostHdr, withToken), 404},
		{"container path without token", get("/profiles/default", hostHdr), 401},
		{"container path with IMDS token only", get("/profiles/default", hostHdr, withToken), 401},
		{"smuggling, two lengths", "PUT /latest/api/token HTTP/1.1\r\n" + hostHdr + "\r\nX-aws-ec2-metadata-token-ttl-seconds: 300\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n", 400},
		{"smuggling, length and chunked", "POST /latest/api/token HTTP/1.1\r\n" + hostHdr + "\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 405},
		{"oversized header", get(creds, hostHdr, withToken, "X-Pad: "+strings.Repeat("a", 64<<10)), 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := r.raw(t, tc.request)
			if a.status != tc.status {
				t.Errorf("status %d, want %d (%s)", a.status, tc.status, strings.TrimSpace(a.body))
			}
			if strings.Contains(a.body, r.creds.SecretAccessKey) || strings.Contains(a.body, r.creds.SessionToken) {
				t.Error("refusal carries credentials")
			}
			for name := range a.header {
				if strings.HasPrefix(name, "Access-Control-") {
					t.Errorf("answer carries CORS header %s", name)
				}
			}
		})
	}
}

// TestSlowloris holds a connection open with a request that never ends;
// the daemon drops it instead of keeping it forever.
func TestSlowloris(t *testing.T) {
	r := startUnlocked(t)
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /latest/meta-data/iam/security-credentials/default HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Slow: ", r.port)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	for err == nil {
		if strings.Contains(string(buf[:n]), r.creds.SecretAccessKey) {
			t.Fatal("credentials sent to an unfinished request")
		}
		n, err = conn.Read(buf)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %s", time.Since(start))
	}
	t.Logf("dropped after %s", time.Since(start).Round(time.Millisecond))
}
