// Package imds serves AWS credentials on an HTTP API that the AWS SDKs and
// the AWS CLI take for the EC2 instance metadata service, version 2, and,
// optionally, on the ECS container-credentials API (container.go).
//
// It implements the part of IMDS that credential providers use: session
// tokens (PUT /latest/api/token), the role list and credential documents
// under iam/security-credentials[-extended]/, and the region paths. Paths are
// matched after collapsing duplicate and trailing slashes, and the handler
// never redirects: clients differ in how they join the endpoint and the path,
// and some follow no redirects.
//
// The package knows nothing of keyrings or STS. It asks a Source for the
// credentials to serve and answers from whatever that returns.
package imds

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
)

// Header names of the IMDSv2 protocol.
const (
	TokenHeader    = "X-Aws-Ec2-Metadata-Token"
	TokenTTLHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
)

// MaxTokenTTL is the longest token lifetime a client may ask for, as on EC2.
const MaxTokenTTL = 6 * time.Hour

// timeLayout is how IMDS writes times. botocore rejects fractional seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// Credentials are what the handler serves to a client.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	// LastUpdated is when the credentials were obtained.
	LastUpdated time.Time
	// AccountID is the account the credentials belong to, if known.
	AccountID string
}

// Identity describes what the handler serves, independent of whether
// credentials are available right now.
type Identity struct {
	// RoleName is listed under iam/security-credentials/. It must be a valid
	// IAM role name: botocore puts it into the next URL unescaped.
	RoleName string
	// AccountID enables the iam/security-credentials-extended/ paths. When
	// empty, those paths answer 404, which clients take as "not supported".
	AccountID string
	// Region is served on the placement and instance-identity paths. When
	// empty, those paths answer 404.
	Region string
}

// Source supplies the credentials the handler serves. Both methods are
// called on the request path and must answer from memory.
type Source interface {
	Identity() Identity
	// Credentials returns the credentials to serve. An *UnavailableError
	// tells the client why there are none.
	Credentials(ctx context.Context) (Credentials, error)
}

// UnavailableError is returned by a Source that has no credentials to serve.
// The handler passes Code and Message to the client in the credential
// document, the way EC2 reports a role it cannot assume; aws-sdk-go-v2 shows
// both to the user.
type UnavailableError struct {
	Code    string
	Message string
}

func (e *UnavailableError) Error() string { return e.Code + ": " + e.Message }

// Options adjust a Handler. The zero value is IMDSv2-only with the real clock.
type Options struct {
	// AllowIMDSv1 lets GET requests without a token through. A request that
	// carries an invalid token is refused either way.
	AllowIMDSv1 bool
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger receives refusals at debug level. Nil discards them.
	Logger *slog.Logger
	// Container, when set, also serves the container-credentials endpoint
	// under ContainerPathPrefix.
	Container *ContainerOptions
	// TokenKey signs session tokens (TokenKeySize bytes). Nil means a
	// random key: tokens end with the handler.
	TokenKey []byte
}

// Stats counts what the handler has answered since it was created.
type Stats struct {
	TokensIssued      uint64 `json:"tokens_issued"`
	TokenRequests     uint64 `json:"token_requests"`      // GETs that carried a valid token
	V1Requests        uint64 `json:"v1_requests"`         // GETs served without a token
	CredentialsServed uint64 `json:"credentials_served"`  // credential documents with Code "Success"
	Unavailable       uint64 `json:"credentials_refused"` // credential documents reporting an error
	Unauthorized      uint64 `json:"unauthorized"`        // 401: missing, invalid or expired token
	Refused           uint64 `json:"refused"`             // refused by a security check
}

type counters struct {
	tokensIssued, tokenRequests, v1Requests atomic.Uint64
	credentialsServed, unavailable          atomic.Uint64
	unauthorized, refused                   atomic.Uint64
}

// Handler is the IMDS HTTP API. Create one with NewHandler.
type Handler struct {
	src    Source
	opts   Options
	tokens *tokenMinter
	router chi.Router
	count  counters
	docs   [2]atomic.Pointer[cachedDocument] // IMDS, then -extended
	// The container endpoint's per-profile token and document, kept.
	profileTokens     sync.Map // profile -> string
	profileTokenCount atomic.Int64
	containerDocs     sync.Map // profile -> *cachedDocument
}

// NewHandler returns the IMDS API serving credentials from src.
func NewHandler(src Source, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{src: src, opts: opts, tokens: newTokenMinter(opts.TokenKey)}

	r := chi.NewRouter()
	r.NotFound(notFound)
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	r.Put(tokenPath, func(w http.ResponseWriter, r *http.Request) { h.putToken(w, r, connFactsOf(r.Context())) })
	if opts.Container != nil && opts.Container.Token != "" {
		r.Get(ContainerPathPrefix+"{profile}", func(w http.ResponseWriter, r *http.Request) {
			h.containerCredentials(w, r, chi.URLParam(r, "profile"))
		})
	}
	r.Group(func(r chi.Router) {
		r.Use(h.requireToken)
		for _, extended := range []bool{false, true} {
			base := credentialsPath
			if extended {
				base = extendedPath
			}
			r.Get(base, func(w http.ResponseWriter, r *http.Request) { h.roleList(w, r, extended) })
			r.Get(base+"/{role}", func(w http.ResponseWriter, r *http.Request) {
				h.credentials(w, r, chi.URLParam(r, "role"), extended)
			})
		}
		r.Get("/latest/meta-data/placement/availability-zone", h.availabilityZone)
		r.Get("/latest/meta-data/placement/region", h.region)
		r.Get("/latest/dynamic/instance-identity/document", h.identityDocument)
	})
	h.router = r
	return h
}

// Stats returns the handler's counters.
func (h *Handler) Stats() Stats {
	c := &h.count
	return Stats{
		TokensIssued:      c.tokensIssued.Load(),
		TokenRequests:     c.tokenRequests.Load(),
		V1Requests:        c.v1Requests.Load(),
		CredentialsServed: c.credentialsServed.Load(),
		Unavailable:       c.unavailable.Load(),
		Unauthorized:      c.unauthorized.Load(),
		Refused:           c.refused.Load(),
	}
}

// ServeHTTP refuses requests that fail a security check, then answers
// the requests every credential fetch makes (fast), and routes the rest by
// their normalised path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn := connFactsOf(r.Context())
	if status, reason := refusal(r, conn); status != 0 {
		h.count.refused.Add(1)
		h.opts.Logger.Debug("imds: refused request", "reason", reason, "method", r.Method, "remote", r.RemoteAddr)
		refuse(w, status)
		return
	}
	if h.fast(w, r, conn) {
		return
	}
	// "//latest/meta-data/iam/security-credentials/" and every other
	// spelling clients produce become "/latest/meta-data/iam/security-credentials".
	if p := r.URL.Path; !isClean(p) {
		r.URL.Path = path.Clean("/" + p)
	}
	r.URL.RawPath = ""
	h.router.ServeHTTP(w, r)
}

// Paths of the credential fetch, as SDKs spell them.
const (
	tokenPath        = "/latest/api/token"
	credentialsPath  = "/latest/meta-data/iam/security-credentials"
	extendedPath     = "/latest/meta-data/iam/security-credentials-extended"
	credentialsSlash = credentialsPath + "/"
	extendedSlash    = extendedPath + "/"
)

// fast answers the requests of a credential fetch, spelled as SDKs spell
// them, and reports whether it did. They are answered exactly as the
// router answers them (the router keeps the same routes for every other
// spelling), without its per-request cost: a routing context and a copy
// of the request for each, on every SDK's hottest path.
func (h *Handler) fast(w http.ResponseWriter, r *http.Request, conn *connFacts) bool {
	p := r.URL.Path
	switch r.Method {
	case http.MethodPut:
		if p != tokenPath {
			return false
		}
		h.putToken(w, r, conn)
		return true
	case http.MethodGet:
	default:
		return false
	}
	var extended bool
	var rest string
	switch {
	case strings.HasPrefix(p, credentialsSlash):
		rest = p[len(credentialsSlash):]
	case strings.HasPrefix(p, extendedSlash):
		rest, extended = p[len(extendedSlash):], true
	case strings.HasPrefix(p, ContainerPathPrefix) && h.opts.Container != nil && h.opts.Container.Token != "":
		profile := p[len(ContainerPathPrefix):]
		if profile == "" || strings.IndexByte(profile, '/') >= 0 || !isClean(p) {
			return false
		}
		h.containerCredentials(w, r, profile)
		return true
	default:
		return false
	}
	if strings.IndexByte(rest, '/') >= 0 || (rest != "" && !isClean(p)) {
		return false
	}
	if !h.tokenAllows(w, r, conn) {
		return true
	}
	if rest == "" {
		h.roleList(w, r, extended)
	} else {
		h.credentials(w, r, rest, extended)
	}
	return true
}

// isClean reports whether p needs no cleaning: one leading slash, no
// doubled or trailing slash, no dot segments. Checking is cheaper than
// path.Clean, which copies whenever it would change anything.
func isClean(p string) bool {
	if len(p) < 2 || p[0] != '/' || p[len(p)-1] == '/' {
		return p == "/"
	}
	return !strings.Contains(p, "//") && !strings.Contains(p, "/.")
}

// putToken issues a token; conn (if not nil) remembers it for the
// requests that follow on the connection.
func (h *Handler) putToken(w http.ResponseWriter, r *http.Request, conn *connFacts) {
	if _, ok := r.Header[http.CanonicalHeaderKey("X-Forwarded-For")]; ok {
		// EC2 refuses forwarded token requests: a proxy or an SSRF-prone
		// app must not be able to obtain a token for a remote caller.
		h.count.refused.Add(1)
		refuse(w, http.StatusForbidden)
		return
	}
	sent := r.Header[TokenTTLHeader]
	var ttl time.Duration
	ok := len(sent) > 0
	if ok {
		ttl, ok = parseTTL(sent[0])
	}
	if !ok {
		writeText(w, http.StatusBadRequest, "bad request: "+TokenTTLHeader+" must be a whole number of seconds from 1 to 21600")
		return
	}
	h.count.tokensIssued.Add(1)
	// The lifetime granted, as the client sent it when that is how it is
	// written ("21600"): no copy.
	if len(sent) == 1 && sent[0][0] != '+' && sent[0][0] != '0' {
		w.Header()[TokenTTLHeader] = sent
	} else {
		w.Header()[TokenTTLHeader] = []string{strconv.Itoa(int(ttl / time.Second))}
	}
	// Written from pooled memory: net/http copies it into the
	// connection's buffer at once.
	s := h.tokens.scratch.Get().(*tokenScratch)
	expires := h.opts.Now().Add(ttl)
	h.tokens.issueInto(s, expires)
	if conn != nil {
		conn.remember(&s.encoded, expires.Unix())
	}
	writeHeader(w, http.StatusOK, textPlain)
	_, _ = w.Write(s.encoded[:])
	h.tokens.scratch.Put(s)
}

// parseTTL reads a token lifetime in whole seconds, 1 to MaxTokenTTL. The
// range is checked on the number itself: multiplied first, a huge one
// would overflow into a small or negative duration.
func parseTTL(s string) (time.Duration, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > int(MaxTokenTTL/time.Second) {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// requireToken lets a request through when it carries a valid token, or
// none while IMDSv1 is allowed.
func (h *Handler) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.tokenAllows(w, r, connFactsOf(r.Context())) {
			next.ServeHTTP(w, r)
		}
	})
}

// tokenAllows reports whether r carries a valid token, or none while
// IMDSv1 is allowed; otherwise it answers 401. conn, if not nil, knows the
// connection's last valid token.
func (h *Handler) tokenAllows(w http.ResponseWriter, r *http.Request, conn *connFacts) bool {
	values, present := r.Header[TokenHeader]
	switch {
	case present && len(values) == 1 && h.validToken(values[0], conn):
		h.count.tokenRequests.Add(1)
	case !present && h.opts.AllowIMDSv1:
		h.count.v1Requests.Add(1)
	default:
		h.count.unauthorized.Add(1)
		writeText(w, http.StatusUnauthorized, http.StatusText(http.StatusUnauthorized))
		return false
	}
	return true
}

// validToken reports whether token is valid now: the connection's own
// (conn.known) needs no hash, only its expiry checked; another is verified
// and becomes the connection's.
func (h *Handler) validToken(token string, conn *connFacts) bool {
	if conn == nil {
		return h.tokens.valid(token, h.opts.Now())
	}
	now := h.opts.Now().Unix()
	if expires, ok := conn.known(token); ok {
		return now < expires
	}
	expires, ok := h.tokens.verify(token)
	if !ok {
		return false
	}
	var t encodedToken
	copy(t[:], token)
	conn.remember(&t, expires)
	return now < expires
}

func (h *Handler) roleList(w http.ResponseWriter, r *http.Request, extended bool) {
	id := h.src.Identity()
	if id.RoleName == "" || (extended && id.AccountID == "") {
		notFound(w, r)
		return
	}
	// The bare name, no newline: botocore appends it to the next URL as is.
	writeText(w, http.StatusOK, id.RoleName)
}

// credentialDocument is the body of iam/security-credentials[-extended]/ROLE.
// Field order and names follow EC2's own answer.
type credentialDocument struct {
	Code            string `json:"Code"`
	Message         string `json:"Message,omitempty"`
	LastUpdated     string `json:"LastUpdated"`
	Type            string `json:"Type,omitempty"`
	AccessKeyID     string `json:"AccessKeyId,omitempty"`
	SecretAccessKey string `json:"SecretAccessKey,omitempty"`
	Token           string `json:"Token,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
}

func (h *Handler) credentials(w http.ResponseWriter, r *http.Request, role string, extended bool) {
	id := h.src.Identity()
	if id.RoleName == "" || role != id.RoleName || (extended && id.AccountID == "") {
		notFound(w, r)
		return
	}
	creds, err := h.src.Credentials(r.Context())
	if err != nil {
		var unavailable *UnavailableError
		if !errors.As(err, &unavailable) {
			unavailable = &UnavailableError{Code: "InternalError", Message: err.Error()}
		}
		h.count.unavailable.Add(1)
		body, _ := json.Marshal(credentialDocument{
			Code:        unavailable.Code,
			Message:     unavailable.Message,
			LastUpdated: h.opts.Now().UTC().Format(timeLayout),
		})
		writeBody(w, unavailableStatus(r), textPlain, body)
		return
	}
	h.count.credentialsServed.Add(1)
	writeBody(w, http.StatusOK, textPlain, h.document(creds, extended, id.AccountID))
}

// UnavailableStatus is the status of a credential document that reports an
// error, for every client but aws-sdk-go-v2. A 200 with a Code other than
// Success, as EC2 answers for a role it cannot assume, is read by
// aws-sdk-go-v2 alone; the AWS SDK for JavaScript v2 takes it for
// credentials, fails on the missing expiry inside a callback and never
// calls back (a program hangs). With an error status every SDK fails at
// once and caches nothing. 401 rather than 404: after any other error
// status JavaScript v2 stops asking for a token, so its next call (IMDSv1)
// fails too; after a 401 it asks for a token again, and the first call
// after `mfad unlock` gets the session (tried with every client in the
// conformance suite).
const UnavailableStatus = http.StatusUnauthorized

// unavailableStatus is the status for r's client of a document that
// reports an error: 200 for aws-sdk-go-v2, which shows Code and Message
// to the user (and tells itself by its User-Agent), UnavailableStatus for
// the rest.
func unavailableStatus(r *http.Request) int {
	if strings.HasPrefix(r.Header.Get("User-Agent"), "aws-sdk-go-v2/") {
		return http.StatusOK
	}
	return UnavailableStatus
}

// cachedDocument is a credential document already encoded, for the
// credentials it was encoded from.
type cachedDocument struct {
	creds     Credentials
	accountID string
	body      []byte
}

// document returns the encoded credential document for creds, encoding it
// only when the credentials change: clients ask far more often than
// sessions change.
func (h *Handler) document(creds Credentials, extended bool, accountID string) []byte {
	slot := &h.docs[0]
	if extended {
		slot = &h.docs[1]
	} else {
		accountID = ""
	}
	if c := slot.Load(); c != nil && c.creds == creds && c.accountID == accountID {
		return c.body
	}
	body, _ := json.Marshal(credentialDocument{
		Code:            "Success",
		LastUpdated:     creds.LastUpdated.UTC().Format(timeLayout),
		Type:            "AWS-HMAC",
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		Token:           creds.SessionToken,
		Expiration:      creds.Expiration.UTC().Format(timeLayout),
		AccountID:       accountID,
	})
	slot.Store(&cachedDocument{creds: creds, accountID: accountID, body: body})
	return body
}

func (h *Handler) availabilityZone(w http.ResponseWriter, r *http.Request) {
	region := h.src.Identity().Region
	if region == "" {
		notFound(w, r)
		return
	}
	// The AWS CLI takes the region to be the zone minus its last letter.
	writeText(w, http.StatusOK, region+"a")
}

func (h *Handler) region(w http.ResponseWriter, r *http.Request) {
	region := h.src.Identity().Region
	if region == "" {
		notFound(w, r)
		return
	}
	writeText(w, http.StatusOK, region)
}

type identityDocument struct {
	AccountID        string `json:"accountId,omitempty"`
	AvailabilityZone string `json:"availabilityZone"`
	Region           string `json:"region"`
}

func (h *Handler) identityDocument(w http.ResponseWriter, r *http.Request) {
	id := h.src.Identity()
	if id.Region == "" {
		notFound(w, r)
		return
	}
	writeJSON(w, identityDocument{AccountID: id.AccountID, AvailabilityZone: id.Region + "a", Region: id.Region})
}

// refuse answers a request that failed a security check, and closes the
// connection: whoever sent it gets nothing more from it.
func refuse(w http.ResponseWriter, status int) {
	w.Header()["Connection"] = connectionClose
	writeText(w, status, http.StatusText(status))
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusNotFound, http.StatusText(http.StatusNotFound))
}

func writeText(w http.ResponseWriter, status int, body string) {
	writeHeader(w, status, textPlain)
	_, _ = io.WriteString(w, body)
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
		return
	}
	// EC2 labels every metadata answer text/plain, JSON documents included.
	writeBody(w, http.StatusOK, textPlain, body)
}
