package imds

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

type fakeSource struct {
	id    Identity
	creds Credentials
	err   error
}

func (f *fakeSource) Identity() Identity { return f.id }
func (f *fakeSource) Credentials(context.Context) (Credentials, error) {
	return f.creds, f.err
}

var (
	testNow   = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	testCreds = Credentials{
		AccessKeyID:     "ASIAEXAMPLEEXAMPLE01",
		SecretAccessKey: "secretsecretsecretsecretsecretsecret0001",
		SessionToken:    "FwoGZXIvYXdzEXAMPLETOKEN",
		Expiration:      time.Date(2026, 11, 28, 0, 0, 0, 500, time.UTC),
		LastUpdated:     time.Date(2026, 11, 27, 11, 59, 30, 0, time.UTC),
	}
	testIdentity = Identity{RoleName: "default", AccountID: "123456789012", Region: "eu-west-1"}
)

func unlockedSource() *fakeSource { return &fakeSource{id: testIdentity, creds: testCreds} }

func newTestHandler(src Source, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	return NewHandler(src, opts)
}

// newRequest builds a request as it arrives on a loopback listener at port 9911.
func newRequest(method, target string, header map[string]string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Host = "127.0.0.1:9911"
	for k, v := range header {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9911}
	return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func token(t *testing.T, h http.Handler) string {
	t.Helper()
	w := serve(h, newRequest(http.MethodPut, "/latest/api/token", map[string]string{TokenTTLHeader: "21600"}))
	if w.Code != http.StatusOK || w.Body.Len() == 0 {
		t.Fatalf("token: %d %q", w.Code, w.Body.String())
	}
	return w.Body.String()
}

func TestTokenRequests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"Go SDK TTL", map[string]string{TokenTTLHeader: "300"}, 200},
		{"botocore TTL", map[string]string{TokenTTLHeader: "21600"}, 200},
		{"smallest TTL", map[string]string{TokenTTLHeader: "1"}, 200},
		{"TTL missing", nil, 400},
		{"TTL zero", map[string]string{TokenTTLHeader: "0"}, 400},
		{"TTL too long", map[string]string{TokenTTLHeader: "21601"}, 400},
		{"TTL negative", map[string]string{TokenTTLHeader: "-5"}, 400},
		{"TTL that overflows a duration", map[string]string{TokenTTLHeader: "9223372036854775807"}, 400},
		{"TTL that overflows once in nanoseconds", map[string]string{TokenTTLHeader: "18446744073"}, 400},
		{"TTL not a number", map[string]string{TokenTTLHeader: "ten"}, 400},
		{"forwarded", map[string]string{TokenTTLHeader: "300", "X-Forwarded-For": "203.0.113.9"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(unlockedSource(), Options{})
			w := serve(h, newRequest(http.MethodPut, "/latest/api/token", tc.header))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (body %q)", w.Code, tc.status, w.Body.String())
			}
			if tc.status != 200 {
				if got := w.Header().Get(TokenTTLHeader); got != "" {
					t.Errorf("refusal carries TTL header %q", got)
				}
				if tc.status == 403 && w.Header().Get("Connection") != "close" {
					t.Errorf("a refusal keeps the connection open")
				}
				return
			}
			if got, want := w.Header().Get(TokenTTLHeader), tc.header[TokenTTLHeader]; got != want {
				t.Errorf("TTL header %q, want %q", got, want)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/plain" {
				t.Errorf("Content-Type %q", ct)
			}
			// 256 random bits plus expiry and MAC, base64url: no whitespace.
			if !regexp.MustCompile(`^[A-Za-z0-9_-]{90,}$`).MatchString(w.Body.String()) {
				t.Errorf("token %q is not a long URL-safe string", w.Body.String())
			}
		})
	}
}

func TestTokensAreUniqueAndExpire(t *testing.T) {
	now := testNow
	h := NewHandler(unlockedSource(), Options{Now: func() time.Time { return now }})
	w := serve(h, newRequest(http.MethodPut, "/latest/api/token", map[string]string{TokenTTLHeader: "60"}))
	tok := w.Body.String()
	if tok == token(t, h) {
		t.Fatal("two token requests returned the same token")
	}
	get := func() int {
		return serve(h, newRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/", map[string]string{TokenHeader: tok})).Code
	}
	now = testNow.Add(59 * time.Second)
	if code := get(); code != 200 {
		t.Fatalf("token refused before its TTL: %d", code)
	}
	now = testNow.Add(60 * time.Second)
	if code := get(); code != 401 {
		t.Fatalf("expired token: %d, want 401", code)
	}
	other := NewHandler(unlockedSource(), Options{Now: func() time.Time { return testNow }})
	if code := serve(other, newRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/", map[string]string{TokenHeader: tok})).Code; code != 401 {
		t.Fatalf("token from another handler (a previous daemon) accepted: %d", code)
	}
}

func TestMetadataPaths(t *testing.T) {
	h := newTestHandler(unlockedSource(), Options{})
	tok := token(t, h)
	for _, tc := range []struct {
		target string
		status int
		body   string
	}{
		// The role list: the bare name, whatever slashes the client adds.
		{"/latest/meta-data/iam/security-credentials/", 200, "default"},
		{"/latest/meta-data/iam/security-credentials", 200, "default"},
		{"//latest/meta-data/iam/security-credentials/", 200, "default"},
		{"/latest//meta-data/iam//security-credentials", 200, "default"},
		{"/latest/meta-data/iam/security-credentials-extended/", 200, "default"},
		{"/latest/meta-data/iam/security-credentials/other-role", 404, ""},
		{"/latest/meta-data/iam/security-credentials-extended/other-role", 404, ""},
		{"/latest/meta-data/placement/availability-zone/", 200, "eu-west-1a"},
		{"/latest/meta-data/placement/availability-zone", 200, "eu-west-1a"},
		{"/latest/meta-data/placement/region", 200, "eu-west-1"},
		{"//latest/meta-data/placement/region/", 200, "eu-west-1"},
		{"/latest/dynamic/instance-identity/document", 200, `{"accountId":"123456789012","availabilityZone":"eu-west-1a","region":"eu-west-1"}`},
		{"/latest/meta-data/", 404, ""},
		{"/latest/user-data", 404, ""},
		{"/", 404, ""},
	} {
		t.Run(tc.target, func(t *testing.T) {
			w := serve(h, newRequest(http.MethodGet, tc.target, map[string]string{TokenHeader: tok}))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.status == 200 && w.Body.String() != tc.body {
				t.Fatalf("body %q, want %q", w.Body.String(), tc.body)
			}
		})
	}
}

func TestCredentialDocument(t *testing.T) {
	h := newTestHandler(unlockedSource(), Options{})
	tok := token(t, h)
	for _, target := range []string{
		"/latest/meta-data/iam/security-credentials/default",
		"//latest/meta-data/iam/security-credentials/default/",
		"/latest/meta-data/iam/security-credentials-extended/default",
	} {
		w := serve(h, newRequest(http.MethodGet, target, map[string]string{TokenHeader: tok}))
		if w.Code != 200 {
			t.Fatalf("%s: status %d", target, w.Code)
		}
		var doc map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		want := map[string]string{
			"Code":            "Success",
			"LastUpdated":     "2026-11-27T11:59:30Z",
			"Type":            "AWS-HMAC",
			"AccessKeyId":     testCreds.AccessKeyID,
			"SecretAccessKey": testCreds.SecretAccessKey,
			"Token":           testCreds.SessionToken,
			// No fractional seconds: botocore refuses them.
			"Expiration": "2026-11-28T00:00:00Z",
		}
		if strings.Contains(target, "extended") {
			want["AccountId"] = "123456789012"
		}
		if len(doc) != len(want) {
			t.Errorf("%s: fields %v, want %v", target, doc, want)
		}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("%s: %s = %q, want %q", target, k, doc[k], v)
			}
		}
	}
}

func TestNoAccountNoExtendedPaths(t *testing.T) {
	src := unlockedSource()
	src.id.AccountID = ""
	h := newTestHandler(src, Options{})
	tok := token(t, h)
	for _, target := range []string{
		"/latest/meta-data/iam/security-credentials-extended/",
		"/latest/meta-data/iam/security-credentials-extended/default",
	} {
		if w := serve(h, newRequest(http.MethodGet, target, map[string]string{TokenHeader: tok})); w.Code != 404 {
			t.Errorf("%s: status %d, want 404 so Java falls back", target, w.Code)
		}
	}
}

func TestNoRegionNoRegionPaths(t *testing.T) {
	src := unlockedSource()
	src.id.Region = ""
	h := newTestHandler(src, Options{})
	tok := token(t, h)
	for _, target := range []string{
		"/latest/meta-data/placement/availability-zone/",
		"/latest/meta-data/placement/region",
		"/latest/dynamic/instance-identity/document",
	} {
		if w := serve(h, newRequest(http.MethodGet, target, map[string]string{TokenHeader: tok})); w.Code != 404 {
			t.Errorf("%s: status %d, want 404", target, w.Code)
		}
	}
}

// TestUnavailableCredentials: a document that reports an error is a 200
// for aws-sdk-go-v2, which shows Code and Message, and a 401 for every
// other client (the AWS SDK for JavaScript v2 hangs on a 200 without keys).
func TestUnavailableCredentials(t *testing.T) {
	src := unlockedSource()
	src.err = &UnavailableError{Code: "MFASessionLocked", Message: "run `mfad unlock`"}
	h := newTestHandler(src, Options{})
	tok := token(t, h)
	for _, tc := range []struct {
		userAgent string
		status    int
	}{
		{"aws-sdk-go-v2/1.48.0 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux", 200},
		{"", 401}, // the AWS SDKs for JavaScript send none
		{"aws-sdk-go/1.55.8 (go1.26; linux; amd64)", 401},
		{"Botocore/1.43.11 ua/2.1 os/linux", 401},
		{"aws-cli/2.9.19 Python/3.11", 401},
		{"curl/8.0 aws-sdk-go-v2/1.0", 401},
	} {
		w := serve(h, newRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/default", map[string]string{TokenHeader: tok, "User-Agent": tc.userAgent}))
		if w.Code != tc.status {
			t.Errorf("%q: status %d, want %d", tc.userAgent, w.Code, tc.status)
		}
		var doc map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["Code"] != "MFASessionLocked" || doc["Message"] != "run `mfad unlock`" {
			t.Errorf("document %v", doc)
		}
		for _, k := range []string{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} {
			if _, ok := doc[k]; ok {
				t.Errorf("locked document carries %s", k)
			}
		}
	}
	if s := h.Stats(); s.Unavailable != 6 || s.CredentialsServed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTokenRequired(t *testing.T) {
	const target = "/latest/meta-data/iam/security-credentials/default"
	for _, tc := range []struct {
		name   string
		v1     bool
		token  string
		status int
	}{
		{"v2 only, no token", false, "", 401},
		{"v2 only, forged token", false, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401},
		{"v2 only, short token", false, "abc", 401},
		{"v1 allowed, no token", true, "", 200},
		{"v1 allowed, forged token", true, "abc", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(unlockedSource(), Options{AllowIMDSv1: tc.v1})
			hdr := map[string]string{}
			if tc.token != "" {
				hdr[TokenHeader] = tc.token
			}
			w := serve(h, newRequest(http.MethodGet, target, hdr))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.status != 200 && strings.Contains(w.Body.String(), testCreds.SecretAccessKey) {
				t.Fatal("refusal carries the secret")
			}
		})
	}
}

func TestSecurityRefusals(t *testing.T) {
	h := newTestHandler(unlockedSource(), Options{AllowIMDSv1: true})
	tok := token(t, h)
	const target = "/latest/meta-data/iam/security-credentials/default"
	for _, tc := range []struct {
		name   string
		mutate func(r *http.Request)
		status int
	}{
		{"allowed: 127.0.0.1", func(r *http.Request) {}, 200},
		{"allowed: localhost", func(r *http.Request) { r.Host = "localhost:9911" }, 200},
		{"allowed: [::1]", func(r *http.Request) { r.Host = "[::1]:9911"; r.RemoteAddr = "[::1]:40000" }, 200},
		{"rebinding host", func(r *http.Request) { r.Host = "evil.example:9911" }, 403},
		{"host without port", func(r *http.Request) { r.Host = "127.0.0.1" }, 403},
		{"host other port", func(r *http.Request) { r.Host = "127.0.0.1:80" }, 403},
		{"host trailing dot", func(r *http.Request) { r.Host = "localhost.:9911" }, 403},
		{"host suffix", func(r *http.Request) { r.Host = "LOCALHOST.evil.com:9911" }, 403},
		{"empty host", func(r *http.Request) { r.Host = "" }, 403},
		{"origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403},
		{"sec-fetch", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403},
		{"remote peer", func(r *http.Request) { r.RemoteAddr = "192.0.2.1:1234" }, 403},
		{"absolute form", func(r *http.Request) { r.RequestURI = "http://127.0.0.1:9911" + target }, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(http.MethodGet, target, map[string]string{TokenHeader: tok})
			tc.mutate(r)
			w := serve(h, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.status != 200 && strings.Contains(w.Body.String(), testCreds.SecretAccessKey) {
				t.Fatal("refusal carries the secret")
			}
		})
	}
}
