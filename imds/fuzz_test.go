package imds

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
)

// FuzzHandler feeds raw requests to the handler, IMDSv1 allowed so that
// the fuzzer can reach credentials without forging a token, and checks the
// one property that matters: a credential only ever goes out in answer to
// a request every defence allows.
func FuzzHandler(f *testing.F) {
	for _, seed := range []string{
		"GET /latest/meta-data/iam/security-credentials/default HTTP/1.1\r\nHost: 127.0.0.1:9911\r\n\r\n",
		"GET //latest/meta-data/iam/security-credentials-extended/default/ HTTP/1.1\r\nHost: localhost:9911\r\n\r\n",
		"GET /profiles/work HTTP/1.1\r\nHost: [::1]:9911\r\nAuthorization: " + testContainerToken + "\r\n\r\n",
		"GET /latest/meta-data/iam/security-credentials/default HTTP/1.1\r\nHost: evil:9911\r\nOrigin: x\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1:9911\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n",
		"GET http://127.0.0.1:9911/latest/meta-data/iam/security-credentials/default HTTP/1.1\r\nHost: 127.0.0.1:9911\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	h := newTestHandler(unlockedSource(), Options{AllowIMDSv1: true, Container: &ContainerOptions{Token: testContainerToken, Credentials: byProfile}})
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9911}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:40000"
		req = req.WithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, local))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.String()
		if !strings.Contains(body, testCreds.SecretAccessKey) && !strings.Contains(body, testCreds.SessionToken) {
			return
		}
		if why := disallowed(req); why != "" {
			t.Fatalf("credentials served to a request that %s:\n%q", why, raw)
		}
	})
}

// disallowed restates the rules independently of the handler's code: it
// says why req must not get credentials, or "" if it may.
func disallowed(r *http.Request) string {
	switch {
	case r.Method != http.MethodGet:
		return "is not a GET"
	case !strings.HasPrefix(r.RequestURI, "/"):
		return "has an absolute-form target"
	case r.Host != "127.0.0.1:9911" && r.Host != "localhost:9911" && r.Host != "[::1]:9911":
		return "names another host"
	case r.Header.Get("Origin") != "":
		return "comes from a browser"
	}
	for name := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "sec-fetch-") {
			return "comes from a browser"
		}
	}
	p := path.Clean("/" + r.URL.Path)
	switch p {
	case "/latest/meta-data/iam/security-credentials/default", "/latest/meta-data/iam/security-credentials-extended/default":
		if _, ok := r.Header[TokenHeader]; ok {
			return "carries a token that cannot be valid"
		}
		return ""
	case "/profiles/work":
		if r.Header.Get("Authorization") != testContainerToken {
			return "lacks the container token"
		}
		return ""
	}
	return "asks for another path: " + p
}
