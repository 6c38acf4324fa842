package ststest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const amzDateLayout = "20060102T150405Z"

// maxSkew is how far a request's signing time may be from the server's
// clock, as on AWS.
const maxSkew = 15 * time.Minute

// authenticate checks r's SigV4 signature the way AWS does and returns the
// user who signed it.
func (s *Server) authenticate(r *http.Request, body []byte, now time.Time) (User, *apiError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return User{}, errMissingAuth
	}
	fields, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return User{}, &apiError{400, "Sender", "IncompleteSignature", "Unsupported AWS 'algorithm'"}
	}
	parts := map[string]string{}
	for _, f := range strings.Split(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || (scope[3] != "sts" && scope[3] != "iam") || scope[4] != "aws4_request" || parts["SignedHeaders"] == "" || parts["Signature"] == "" {
		return User{}, &apiError{400, "Sender", "IncompleteSignature", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters"}
	}
	user, session, found := s.lookupKey(scope[0])
	if !found {
		return User{}, errUnknownKey
	}
	if session != nil {
		// Session keys are only good with their own token, until they expire.
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(session.SessionToken)) != 1 {
			return User{}, errUnknownKey
		}
		if !now.Before(session.Expiration) {
			return User{}, errExpiredToken
		}
	}
	signedAt, err := time.Parse(amzDateLayout, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return user, &apiError{400, "Sender", "IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header"}
	}
	if d := signedAt.Sub(now); d > maxSkew || d < -maxSkew {
		e := *errBadSignature
		if d < 0 {
			e.message = fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
				signedAt.Format(amzDateLayout), now.Add(-maxSkew).UTC().Format(amzDateLayout), now.UTC().Format(amzDateLayout))
		} else {
			e.message = fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
				signedAt.Format(amzDateLayout), now.Add(maxSkew).UTC().Format(amzDateLayout), now.UTC().Format(amzDateLayout))
		}
		return user, &e
	}
	want, err := signature(r, body, strings.Split(parts["SignedHeaders"], ";"), user, scope[3], scope[2], signedAt)
	if err != nil || !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		return user, errBadSignature
	}
	return user, nil
}

// lookupKey finds who an access key ID belongs to: an IAM user, or session
// credentials issued earlier (then returned too), signing as the user they
// were issued to but with their own secret.
func (s *Server) lookupKey(id string) (User, *Credentials, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		return u, nil, true
	}
	for i := range s.sess {
		if c := s.sess[i]; c.AccessKeyID == id {
			u := s.users[c.User]
			u.AccessKeyID, u.SecretAccessKey = c.AccessKeyID, c.SecretAccessKey
			return u, &c, true
		}
	}
	return User{}, nil, false
}

// signature recomputes the request's signature over the headers the client
// said it signed, with the SDK's own signer and the user's secret key.
func signature(r *http.Request, body []byte, signedHeaders []string, user User, service, region string, signedAt time.Time) (string, error) {
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.ContentLength = 0
	for _, h := range signedHeaders {
		switch h {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: user.AccessKeyID, SecretAccessKey: user.SecretAccessKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, signedAt); err != nil {
		return "", err
	}
	_, sig, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	return sig, nil
}
