// Package ststest runs a fake AWS STS for tests, the way net/http/httptest
// runs a fake server: real HTTP, the Query protocol, XML answers shaped like
// STS's own. It is as strict as STS where mfad depends on it: it checks the
// SigV4 signature with the user's secret key, refuses unknown keys, session
// keys and stale signatures, validates real TOTP codes against the device's
// seed and refuses a code used before. Tests can make it slow, throttling,
// failing or broken.
package ststest

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// User is an IAM user the fake STS knows, with one virtual MFA device.
type User struct {
	AccessKeyID     string
	SecretAccessKey string
	// Account and Name make the user's ARN.
	Account, Name string
	// MFASerial is the ARN of the user's MFA device; empty for a user
	// without one (see WithoutMFA).
	MFASerial string
	// Seed is the device's base32 TOTP secret.
	Seed string
}

// NewUser returns a user of account with fresh random keys and MFA seed.
func NewUser(account, name string) User {
	return User{
		Account:         account,
		Name:            name,
		AccessKeyID:     "AKIA" + randomString(16, upperAlnum),
		SecretAccessKey: randomString(40, secretAlphabet),
		MFASerial:       "arn:aws:iam::" + account + ":mfa/" + name,
		Seed:            base32NoPad(randomBytes(20)),
	}
}

func base32NoPad(b []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// WithoutMFA returns u without an MFA device, as a new IAM user is.
func (u User) WithoutMFA() User {
	u.MFASerial, u.Seed = "", ""
	return u
}

// ARN is the user's ARN; a user without a name is the account's root.
func (u User) ARN() string {
	if u.Name == "" {
		return "arn:aws:iam::" + u.Account + ":root"
	}
	return "arn:aws:iam::" + u.Account + ":user/" + u.Name
}

// Code returns the user's TOTP code at t, as an authenticator app shows it.
func (u User) Code(t time.Time) string {
	code, err := totp.GenerateCode(u.Seed, t)
	if err != nil {
		panic(err)
	}
	return code
}

// Role is an IAM role the fake STS lets its users assume.
type Role struct {
	ARN string
	// ExternalID, if set, must come with every AssumeRole.
	ExternalID string
	// RequireMFA refuses callers whose credentials did not come from an
	// MFA session (aws:MultiFactorAuthPresent).
	RequireMFA bool
	// Deny refuses every caller, as a trust policy that names someone else.
	Deny bool
	// MaxSessionDuration is the longest session the role grants; zero
	// means one hour, as IAM's default.
	MaxSessionDuration time.Duration
}

// Fault is a way for the fake STS to fail.
type Fault int

const (
	// NoFault answers normally.
	NoFault Fault = iota
	// Throttle answers every request with STS's Throttling error.
	Throttle
	// InternalError answers 500 with STS's InternalFailure error.
	InternalError
	// Garbage answers 200 with a body that is not XML.
	Garbage
	// DropConnection reads the whole request, then closes the connection
	// without an answer.
	DropConnection
)

// Credentials are session credentials the fake STS issued.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	// User is the access key ID of the IAM user they were issued to.
	User string
	// MFA says the session was started with an MFA code.
	MFA bool
	// Role is the ARN of the role assumed, for AssumeRole credentials.
	Role string
	// Caller is the access key ID that asked for them.
	Caller string
	// ARN is the principal GetCallerIdentity names for them: the IAM
	// user's ARN for GetSessionToken, the assumed-role ARN for AssumeRole.
	ARN string
}

// Call records one request that reached the fake STS.
type Call struct {
	Action      string
	AccessKeyID string
	TokenCode   string
	// Region is the region the request was signed for.
	Region string
	// ARN is the principal that made the call, as GetCallerIdentity
	// names it; MFA says its credentials came from an MFA session.
	ARN string
	MFA bool
}

// Server is a running fake STS. Set AWS_ENDPOINT_URL_STS to its URL.
type Server struct {
	URL string
	srv *httptest.Server

	mu    sync.Mutex
	now   func() time.Time
	users map[string]User // by access key ID
	iam   iamState
	roles map[string]Role // by ARN
	used  map[string]bool // serial + "/" + code
	fault Fault
	delay time.Duration
	// lifetime, if set, is how long every issued session lasts, whatever
	// was asked: a test's way to an MFA session about to end.
	lifetime time.Duration
	// nextLifetime, if set, is the next MFA session's length, once.
	nextLifetime time.Duration
	calls        []Call
	// called is closed and replaced at each call, to wake WaitForCalls.
	called chan struct{}
	sess   []Credentials
}

// NewServer starts a fake STS that knows users.
func NewServer(users ...User) *Server {
	s := &Server{now: time.Now, users: map[string]User{}, roles: map[string]Role{}, used: map[string]bool{}, called: make(chan struct{}),
		iam: iamState{devices: map[string]*mfaDevice{}, policies: map[string]string{}, boundaries: map[string]string{}, faults: map[string]*apiError{}}}
	for _, u := range users {
		s.users[u.AccessKeyID] = u
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// AddUser makes the server know u.
func (s *Server) AddUser(u User) { s.mu.Lock(); s.users[u.AccessKeyID] = u; s.mu.Unlock() }

// AddRole lets the server's users assume r.
func (s *Server) AddRole(r Role) { s.mu.Lock(); s.roles[r.ARN] = r; s.mu.Unlock() }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetFault makes every following request fail in the way f says.
func (s *Server) SetFault(f Fault) { s.mu.Lock(); s.fault = f; s.mu.Unlock() }

// SetDelay makes every following request wait d before it is answered.
func (s *Server) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// SetSessionLifetime makes every following session last d, whatever the
// request asks: the way a test gets credentials near or past their end.
// Zero restores the requested duration.
func (s *Server) SetSessionLifetime(d time.Duration) { s.mu.Lock(); s.lifetime = d; s.mu.Unlock() }

// SetNextSessionLifetime makes the next GetSessionToken session alone last
// d; the ones after it last as asked (or as SetSessionLifetime says).
func (s *Server) SetNextSessionLifetime(d time.Duration) {
	s.mu.Lock()
	s.nextLifetime = d
	s.mu.Unlock()
}

// SetClock replaces the server's clock.
func (s *Server) SetClock(now func() time.Time) { s.mu.Lock(); s.now = now; s.mu.Unlock() }

// Now is the time by the server's clock, by which it checks MFA codes.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	now := s.now
	s.mu.Unlock()
	return now()
}

// Calls returns the requests received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// WaitForCalls waits until n requests have reached the server, or ctx ends.
func (s *Server) WaitForCalls(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		count, called := len(s.calls), s.called
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-called:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFor waits until cond holds, checking after each request, or ctx ends.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		called := s.called
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-called:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Issued returns the session credentials issued so far, in order.
func (s *Server) Issued() []Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Credentials(nil), s.sess...)
}

// apiError is an STS error answer.
type apiError struct {
	status  int
	kind    string // Sender or Receiver
	code    string
	message string
}

// The errors STS returns, with its own wording.
var (
	errInvalidCode = &apiError{403, "Sender", "AccessDenied",
		"MultiFactorAuthentication failed with invalid MFA one time pass code. "}
	errWrongSerial = &apiError{403, "Sender", "AccessDenied",
		"MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."}
	errSessionCreds = &apiError{403, "Sender", "AccessDenied",
		"Cannot call GetSessionToken with session credentials"}
	errUnknownKey = &apiError{403, "Sender", "InvalidClientTokenId",
		"The security token included in the request is invalid."}
	errBadSignature = &apiError{403, "Sender", "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	errExpiredToken = &apiError{403, "Sender", "ExpiredToken",
		"The security token included in the request is expired"}
	errMissingAuth = &apiError{403, "Sender", "MissingAuthenticationToken",
		"Request is missing Authentication Token"}
	errThrottled = &apiError{400, "Sender", "Throttling", "Rate exceeded"}
	errInternal  = &apiError{500, "Receiver", "InternalFailure",
		"The request processing has failed because of an unknown error, exception or failure."}
)

func validationError(msg string) *apiError {
	return &apiError{400, "Sender", "ValidationError", "1 validation error detected: " + msg}
}

var tokenCodePattern = regexp.MustCompile(`^[0-9]{6}$`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	s.mu.Lock()
	fault, delay, now := s.fault, s.delay, s.now()
	s.mu.Unlock()
	// The Date header is the server's clock, as AWS's is: clients compare.
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	form, _ := url.ParseQuery(string(body))
	call := Call{Action: form.Get("Action"), TokenCode: form.Get("TokenCode")}
	user, apiErr := s.authenticate(r, body, now)
	call.AccessKeyID = user.AccessKeyID
	call.Region = signingRegion(r)
	s.mu.Lock()
	call.ARN, call.MFA = s.principal(user)
	s.calls = append(s.calls, call)
	close(s.called)
	s.called = make(chan struct{})
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}

	switch fault {
	case Throttle:
		writeError(w, errThrottled)
		return
	case InternalError:
		writeError(w, errInternal)
		return
	case Garbage:
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, "<html><body>upstream proxy error</body")
		return
	case DropConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, &apiError{405, "Sender", "InvalidAction", "Could not find operation for method " + r.Method})
		return
	}
	if form.Get("Version") == iamVersion {
		s.serveIAM(w, form, user, now)
		return
	}
	if form.Get("Version") != "2011-06-15" {
		writeError(w, &apiError{400, "Sender", "InvalidAction", "Could not find operation " + form.Get("Action") + " for version " + form.Get("Version")})
		return
	}
	switch form.Get("Action") {
	case "GetSessionToken":
		s.getSessionToken(w, r, form, user, now)
	case "AssumeRole":
		s.assumeRole(w, r, form, user, now)
	case "GetCallerIdentity":
		s.mu.Lock()
		principal, _ := s.principal(user)
		s.mu.Unlock()
		writeXML(w, http.StatusOK, getCallerIdentityResponse{
			XMLNS: xmlns,
			Result: callerIdentity{
				Arn:     principal,
				UserID:  "AIDA" + user.AccessKeyID[4:],
				Account: user.Account,
			},
			RequestID: newRequestID(),
		})
	default:
		writeError(w, &apiError{400, "Sender", "InvalidAction", "Could not find operation " + form.Get("Action") + " for version 2011-06-15"})
	}
}

func (s *Server) getSessionToken(w http.ResponseWriter, r *http.Request, form url.Values, user User, now time.Time) {
	if r.Header.Get("X-Amz-Security-Token") != "" {
		writeError(w, errSessionCreds)
		return
	}
	duration := 12 * time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil:
			writeError(w, validationError(fmt.Sprintf("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", d)))
			return
		case n < 900:
			writeError(w, validationError(fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", n)))
			return
		case n > 129600:
			writeError(w, validationError(fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600", n)))
			return
		}
		duration = time.Duration(n) * time.Second
	}
	serial, code := form.Get("SerialNumber"), form.Get("TokenCode")
	if serial != "" || code != "" {
		if !tokenCodePattern.MatchString(code) {
			writeError(w, validationError(fmt.Sprintf("Value '%s' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*", code)))
			return
		}
		if serial != user.MFASerial {
			writeError(w, errWrongSerial)
			return
		}
		ok, _ := totp.ValidateCustom(code, user.Seed, now, totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		s.mu.Lock()
		reused := s.used[serial+"/"+code]
		if ok {
			s.used[serial+"/"+code] = true
		}
		s.mu.Unlock()
		if !ok || reused {
			writeError(w, errInvalidCode)
			return
		}
	}
	s.mu.Lock()
	if s.lifetime > 0 {
		duration = s.lifetime
	}
	if s.nextLifetime > 0 {
		duration, s.nextLifetime = s.nextLifetime, 0
	}
	s.mu.Unlock()
	creds := Credentials{
		AccessKeyID:     "ASIA" + randomString(16, upperAlnum),
		SecretAccessKey: randomString(40, secretAlphabet),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(randomBytes(240)),
		Expiration:      now.Add(duration).UTC().Truncate(time.Second),
		User:            user.AccessKeyID,
		MFA:             serial != "",
		ARN:             user.ARN(),
	}
	s.mu.Lock()
	s.sess = append(s.sess, creds)
	s.mu.Unlock()
	writeXML(w, http.StatusOK, getSessionTokenResponse{
		XMLNS: xmlns,
		Result: credentialsResult{Credentials: xmlCredentials{
			AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
			SessionToken: creds.SessionToken, Expiration: creds.Expiration.Format(time.RFC3339),
		}},
		RequestID: newRequestID(),
	})
}

func (s *Server) assumeRole(w http.ResponseWriter, r *http.Request, form url.Values, user User, now time.Time) {
	arn := form.Get("RoleArn")
	s.mu.Lock()
	role, known := s.roles[arn]
	var caller *Credentials
	for i := range s.sess {
		if s.sess[i].AccessKeyID == user.AccessKeyID {
			caller = &s.sess[i]
		}
	}
	s.mu.Unlock()
	principal := user.ARN()
	denied := &apiError{403, "Sender", "AccessDenied",
		"User: " + principal + " is not authorized to perform: sts:AssumeRole on resource: " + arn}
	switch {
	case !known || role.Deny:
		writeError(w, denied)
		return
	case role.ExternalID != "" && form.Get("ExternalId") != role.ExternalID:
		writeError(w, denied)
		return
	case role.RequireMFA && (caller == nil || !caller.MFA):
		writeError(w, denied)
		return
	case form.Get("RoleSessionName") == "":
		writeError(w, validationError("Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"))
		return
	}
	duration := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			writeError(w, validationError(fmt.Sprintf("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", d)))
			return
		}
		duration = time.Duration(n) * time.Second
	}
	maxDuration := role.MaxSessionDuration
	if maxDuration == 0 {
		maxDuration = time.Hour
	}
	if duration > maxDuration {
		writeError(w, &apiError{400, "Sender", "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."})
		return
	}
	s.mu.Lock()
	if s.lifetime > 0 {
		duration = s.lifetime
	}
	mfa := caller != nil && caller.MFA
	sessionName := form.Get("RoleSessionName")
	assumed := strings.Replace(strings.Replace(arn, ":iam::", ":sts::", 1), ":role/", ":assumed-role/", 1) + "/" + sessionName
	creds := Credentials{
		AccessKeyID:     "ASIA" + randomString(16, upperAlnum),
		SecretAccessKey: randomString(40, secretAlphabet),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(randomBytes(240)),
		Expiration:      now.Add(duration).UTC().Truncate(time.Second),
		User:            s.ownerOf(user.AccessKeyID),
		MFA:             mfa,
		Role:            arn,
		Caller:          user.AccessKeyID,
		ARN:             assumed,
	}
	s.sess = append(s.sess, creds)
	s.mu.Unlock()
	writeXML(w, http.StatusOK, assumeRoleResponse{
		XMLNS: xmlns,
		Result: assumeRoleResult{
			Credentials: xmlCredentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
				SessionToken: creds.SessionToken, Expiration: creds.Expiration.Format(time.RFC3339)},
			AssumedRoleUser: assumedRoleUser{
				Arn:           assumed,
				AssumedRoleID: "AROA" + randomString(17, upperAlnum) + ":" + sessionName,
			},
		},
		RequestID: newRequestID(),
	})
}

// principal returns the ARN GetCallerIdentity names for a caller, and
// whether its credentials came from an MFA session: a role session's
// assumed-role ARN, or the IAM user's. Called with s.mu held.
func (s *Server) principal(caller User) (string, bool) {
	for _, c := range s.sess {
		if c.AccessKeyID == caller.AccessKeyID {
			return c.ARN, c.MFA
		}
	}
	if caller.AccessKeyID == "" {
		return "", false
	}
	return caller.ARN(), false
}

// ownerOf returns the IAM user's key behind an access key ID, following
// session credentials back to the user. Called with s.mu held.
func (s *Server) ownerOf(id string) string {
	for _, c := range s.sess {
		if c.AccessKeyID == id {
			return c.User
		}
	}
	return id
}

type assumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type assumeRoleResult struct {
	Credentials     xmlCredentials  `xml:"Credentials"`
	AssumedRoleUser assumedRoleUser `xml:"AssumedRoleUser"`
}

type assumeRoleResponse struct {
	XMLName   xml.Name         `xml:"AssumeRoleResponse"`
	XMLNS     string           `xml:"xmlns,attr"`
	Result    assumeRoleResult `xml:"AssumeRoleResult"`
	RequestID string           `xml:"ResponseMetadata>RequestId"`
}

const xmlns = "https://sts.amazonaws.com/doc/2011-06-15/"

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type credentialsResult struct {
	Credentials xmlCredentials `xml:"Credentials"`
}

type getSessionTokenResponse struct {
	XMLName   xml.Name          `xml:"GetSessionTokenResponse"`
	XMLNS     string            `xml:"xmlns,attr"`
	Result    credentialsResult `xml:"GetSessionTokenResult"`
	RequestID string            `xml:"ResponseMetadata>RequestId"`
}

type callerIdentity struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type getCallerIdentityResponse struct {
	XMLName   xml.Name       `xml:"GetCallerIdentityResponse"`
	XMLNS     string         `xml:"xmlns,attr"`
	Result    callerIdentity `xml:"GetCallerIdentityResult"`
	RequestID string         `xml:"ResponseMetadata>RequestId"`
}

// signingRegion reads the region from a SigV4 credential scope.
func signingRegion(r *http.Request) string {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	cred, _, _ = strings.Cut(cred, ",")
	scope := strings.Split(cred, "/")
	if len(scope) != 5 {
		return ""
	}
	return scope[2]
}

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	XMLNS     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeXML(w, e.status, errorResponse{XMLNS: xmlns, Type: e.kind, Code: e.code, Message: e.message, RequestID: newRequestID()})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", newRequestID())
	w.WriteHeader(status)
	w.Write(body)
}

const (
	upperAlnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func randomString(n int, alphabet string) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newRequestID() string {
	b := randomBytes(16)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
