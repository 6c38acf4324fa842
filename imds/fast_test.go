package imds

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFastPathAnswersAsTheRouter: the requests of a credential fetch,
// spelled as SDKs spell them, are answered before the router (fast); the
// same requests spelled otherwise ("//latest/...", which is cleaned, then
// routed) go through the router. Both must give the same answer, byte for
// byte, in every state: a fast path that skipped a check, or answered
// differently, fails here.
func TestFastPathAnswersAsTheRouter(t *testing.T) {
	locked := &fakeSource{id: testIdentity, err: &UnavailableError{Code: "MFASessionLocked", Message: "run `mfad unlock`"}}
	broken := &fakeSource{id: testIdentity, err: errors.New("boom")}
	noAccount := &fakeSource{id: Identity{RoleName: "default"}, creds: testCreds}
	noRole := &fakeSource{id: Identity{}, creds: testCreds}
	sources := map[string]Source{"unlocked": unlockedSource(), "locked": locked, "broken": broken, "no account": noAccount, "no role": noRole}

	for srcName, src := range sources {
		for _, v1 := range []bool{false, true} {
			h := newTestHandler(src, Options{AllowIMDSv1: v1, Container: &ContainerOptions{Token: testContainerToken, Credentials: byProfile}})
			good := h.tokens.issue(testNow.Add(time.Hour))
			expired := h.tokens.issue(testNow.Add(-time.Second))
			tokens := map[string]map[string]string{
				"good token": {TokenHeader: good}, "no token": nil, "expired token": {TokenHeader: expired},
				"forged token": {TokenHeader: strings.Repeat("A", len(good))}, "short token": {TokenHeader: "abc"},
				"go v2": {TokenHeader: good, "User-Agent": "aws-sdk-go-v2/1.0"},
			}
			for _, p := range []string{
				"/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials/default",
				"/latest/meta-data/iam/security-credentials/other", "/latest/meta-data/iam/security-credentials-extended/",
				"/latest/meta-data/iam/security-credentials-extended/default",
			} {
				for tokName, hdr := range tokens {
					for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
						name := fmt.Sprintf("%s, IMDSv1 %v, %s %s, %s", srcName, v1, method, p, tokName)
						compareSpellings(t, h, name, method, p, hdr)
					}
				}
			}
			for _, ttl := range []string{"21600", "1", "021600", "+5", "0", "21601", "x", ""} {
				hdr := map[string]string{TokenTTLHeader: ttl}
				if ttl == "" {
					hdr = nil
				}
				for _, method := range []string{http.MethodPut, http.MethodGet} {
					compareSpellings(t, h, fmt.Sprintf("%s token ttl %q", method, ttl), method, "/latest/api/token", hdr)
				}
			}
			for _, p := range []string{"/profiles/work", "/profiles/other"} {
				for authName, hdr := range map[string]map[string]string{
					"token": {"Authorization": testContainerToken}, "profile token": {"Authorization": ProfileToken(testContainerToken, "work")},
					"none": nil, "wrong": {"Authorization": "nope"},
				} {
					compareSpellings(t, h, fmt.Sprintf("%s, %s %s", srcName, p, authName), http.MethodGet, p, hdr)
				}
			}
		}
	}
}

// compareSpellings serves method p with hdr spelled as SDKs do and spelled
// with a doubled leading slash, and compares the answers.
func compareSpellings(t *testing.T, h *Handler, name, method, p string, hdr map[string]string) {
	t.Helper()
	fast := serve(h, newRequest(method, p, hdr))
	routed := serve(h, newRequest(method, "/"+p, hdr))
	tokenAnswer := method == http.MethodPut && fast.Code == http.StatusOK
	if fast.Code != routed.Code || (fast.Body.String() != routed.Body.String() && !tokenAnswer) {
		t.Errorf("%s: fast %d %q, routed %d %q", name, fast.Code, fast.Body.String(), routed.Code, routed.Body.String())
	}
	if tokenAnswer && len(fast.Body.String()) != len(routed.Body.String()) {
		t.Errorf("%s: tokens differ in length: %q, %q", name, fast.Body.String(), routed.Body.String())
	}
	for _, k := range []string{"Content-Type", "Cache-Control", "Connection", TokenTTLHeader} {
		if fast.Header().Get(k) != routed.Header().Get(k) {
			t.Errorf("%s: %s: fast %q, routed %q", name, k, fast.Header().Get(k), routed.Header().Get(k))
		}
	}
}
