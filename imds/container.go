package imds

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
)

// ContainerPathPrefix is where the container-credentials endpoint serves
// each profile: AWS_CONTAINER_CREDENTIALS_FULL_URI=http://HOST:PORT/profiles/NAME.
// Unlike IMDS, that variable keeps its path, so it can name a profile.
const ContainerPathPrefix = "/profiles/"

// ContainerOptions enable the container-credentials endpoint, the one ECS
// offers, which every SDK reads from AWS_CONTAINER_CREDENTIALS_FULL_URI
// with the token from AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE] in the
// Authorization header. The token guards it where the peer's user cannot
// be looked up.
type ContainerOptions struct {
	// Token is the secret every request must carry. It must not be empty.
	Token string
	// Credentials returns a profile's credentials; an *UnavailableError
	// says why there are none.
	Credentials func(ctx context.Context, profile string) (Credentials, error)
}

// containerDocument is the container endpoint's answer, as ECS writes it.
type containerDocument struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// containerError is the error body the SDKs parse: Go's shows code and
// message, botocore the whole body.
type containerError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ProfileToken is the token that reaches the container endpoint for
// profile alone, derived from the endpoint's token: what `mfad exec` hands
// a command, so that the command (or anything it passes its environment
// to) cannot fetch the user's other profiles.
func ProfileToken(token, profile string) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("mfad profile token\x00" + profile))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (h *Handler) containerCredentials(w http.ResponseWriter, r *http.Request, profile string) {
	c := h.opts.Container
	got := r.Header["Authorization"]
	if len(got) != 1 || !containerTokenFits(got[0], c.Token, h.profileToken(profile)) {
		h.count.unauthorized.Add(1)
		writeContainerError(w, http.StatusUnauthorized, containerError{"Unauthorized",
			"the Authorization header does not carry mfad's token; set AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE as `mfad env --container` prints"})
		return
	}
	creds, err := c.Credentials(r.Context(), profile)
	if err != nil {
		var unavailable *UnavailableError
		if !errors.As(err, &unavailable) {
			unavailable = &UnavailableError{Code: "InternalError", Message: err.Error()}
		}
		h.count.unavailable.Add(1)
		// 403, not 5xx: the SDKs retry 5xx, and no retry unlocks a session.
		writeContainerError(w, http.StatusForbidden, containerError{unavailable.Code, unavailable.Message})
		return
	}
	h.count.credentialsServed.Add(1)
	writeBody(w, http.StatusOK, applicationJSON, h.containerDocument(profile, creds))
}

// maxCachedProfiles bounds the per-profile caches below: names come from
// request paths.
const maxCachedProfiles = 256

// profileToken returns ProfileToken for profile, computed once: it is an
// HMAC on every request's path otherwise.
func (h *Handler) profileToken(profile string) string {
	if t, ok := h.profileTokens.Load(profile); ok {
		return t.(string)
	}
	t := ProfileToken(h.opts.Container.Token, profile)
	if h.profileTokenCount.Add(1) <= maxCachedProfiles {
		h.profileTokens.Store(profile, t)
	}
	return t
}

// containerDocument returns profile's encoded document for creds, encoding
// it only when the credentials change, as document does for IMDS.
func (h *Handler) containerDocument(profile string, creds Credentials) []byte {
	if c, ok := h.containerDocs.Load(profile); ok && c.(*cachedDocument).creds == creds {
		return c.(*cachedDocument).body
	}
	body, _ := json.Marshal(containerDocument{
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		Token:           creds.SessionToken,
		Expiration:      creds.Expiration.UTC().Format(timeLayout),
		AccountID:       creds.AccountID,
	})
	// Only profiles that have credentials get here: real ones.
	h.containerDocs.Store(profile, &cachedDocument{creds: creds, body: body})
	return body
}

// containerTokenFits reports whether sent is the endpoint's token, or the
// profile's own (profileToken), comparing in constant time.
func containerTokenFits(sent, token, profileToken string) bool {
	all := subtle.ConstantTimeCompare([]byte(sent), []byte(token))
	one := subtle.ConstantTimeCompare([]byte(sent), []byte(profileToken))
	return all|one == 1
}

func writeContainerError(w http.ResponseWriter, status int, e containerError) {
	body, _ := json.Marshal(e)
	writeBody(w, status, applicationJSON, body)
}

// Header values shared by every answer; net/http only reads them.
var (
	textPlain       = []string{"text/plain"}
	applicationJSON = []string{"application/json"}
	noStore         = []string{"no-store"}
	connectionClose = []string{"close"}
)

// writeHeader writes status and the headers every answer carries. net/http
// adds Content-Length itself: every answer is written at once, and small.
func writeHeader(w http.ResponseWriter, status int, contentType []string) {
	hdr := w.Header()
	hdr["Content-Type"] = contentType
	hdr["Cache-Control"] = noStore
	w.WriteHeader(status)
}

func writeBody(w http.ResponseWriter, status int, contentType []string, body []byte) {
	writeHeader(w, status, contentType)
	_, _ = w.Write(body)
}
