// Package ipc is the private control channel between the mfad command and
// its daemon: HTTP with JSON bodies over a Unix socket (a named pipe on
// Windows) that only the user can reach. This file holds what both sides
// share: the wire types, the paths and where the socket lives.
package ipc

import (
	"fmt"
	"net/http"
	"os"
)

// Host is the HTTP Host of every request on the socket. The server refuses
// any other, so nothing that was not written for mfad gets an answer.
const Host = "mfad.local"

// Paths of the control API.
const (
	PathStatus = "/v1/status"
	PathUnlock = "/v1/unlock"
	PathLock   = "/v1/lock"
	// PathKeyring opens the daemon's keyring with a passphrase.
	PathKeyring = "/v1/keyring"
	// The daemon's keyring, for the key commands while it runs: they
	// use the keyring it has open instead of opening it themselves (and
	// asking for its passphrase again).
	PathKeys       = "/v1/keys"
	PathKeysGet    = "/v1/keys/get"
	PathKeysPut    = "/v1/keys/put"
	PathKeysRemove = "/v1/keys/remove"
)

// SocketEnv names the environment variable that overrides the socket path.
const SocketEnv = "MFAD_SOCKET"

// Profile states in a Status.
const (
	StateLocked   = "locked"
	StateUnlocked = "unlocked"
	// StatePending is a role profile whose MFA session is live but whose
	// role session is being assumed.
	StatePending = "pending"
)

// Status is the daemon's answer to PathStatus.
type Status struct {
	Version string `json:"version"`
	PID     int    `json:"pid"`
	// IMDSEndpoint is the value for AWS_EC2_METADATA_SERVICE_ENDPOINT,
	// ending in a slash.
	IMDSEndpoint string `json:"imds_endpoint"`
	// IMDSProfile is the profile served on IMDSEndpoint.
	IMDSProfile string `json:"imds_profile"`
	// ContainerEndpoint is the container-credentials endpoint; a profile
	// name completes it, for AWS_CONTAINER_CREDENTIALS_FULL_URI.
	ContainerEndpoint string `json:"container_endpoint"`
	// ContainerTokenFile holds the token that endpoint requires, for
	// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
	ContainerTokenFile string          `json:"container_token_file"`
	Profiles           []ProfileStatus `json:"profiles"`
	// IMDS counts the requests the IMDS endpoint has answered.
	IMDS IMDSStats `json:"imds"`
	// WarnBeforeSeconds is how long before an MFA session's end the user
	// is warned; zero for never.
	WarnBeforeSeconds int `json:"warn_before_seconds"`
	// KeyringLocked says the daemon waits for the passphrase of its file
	// keyring (PathKeyring) before it can read a key.
	KeyringLocked bool `json:"keyring_locked,omitempty"`
	// KeyringWaiting says what a locked keyring waits for, and
	// KeyringPassphrase whether that is a passphrase.
	KeyringWaiting    string `json:"keyring_waiting,omitempty"`
	KeyringPassphrase bool   `json:"keyring_passphrase,omitempty"`
}

// KeysList is the daemon's answer to PathKeys: its keyring's backend and
// the profiles with keys stored.
type KeysList struct {
	Backend  string   `json:"backend"`
	Profiles []string `json:"profiles"`
}

// KeysRequest names a profile's keys (PathKeysGet, PathKeysRemove), and
// carries them (PathKeysPut).
type KeysRequest struct {
	Profile         string `json:"profile"`
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
}

// KeysResponse carries a profile's keys (PathKeysGet), or nothing.
type KeysResponse struct {
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
}

// KeyringRequest gives the daemon its keyring's passphrase, or with Close
// makes it forget the keyring it opened with one.
type KeyringRequest struct {
	Passphrase string `json:"passphrase"`
	Close      bool   `json:"close,omitempty"`
}

// KeyringResponse reports the keyring opened, and the sessions it kept,
// or that it was closed.
type KeyringResponse struct {
	Restored []string `json:"restored,omitempty"`
	Closed   bool     `json:"closed,omitempty"`
}

// ProfileStatus is the state of one profile's MFA session.
type ProfileStatus struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// Expiration is when the session ends, RFC 3339, or empty when locked.
	Expiration string `json:"expiration"`
	MFASerial  string `json:"mfa_serial,omitempty"`
	// Source is the IAM user's profile a role profile is built on.
	Source string `json:"source,omitempty"`
	// RoleARN is the role a role profile assumes.
	RoleARN string `json:"role_arn,omitempty"`
	// LastUnlock is when the session was obtained, RFC 3339, or empty.
	LastUnlock string `json:"last_unlock,omitempty"`
	// LastError is why the last unlock failed, if it did.
	LastError string `json:"last_error,omitempty"`
	// MFAExpiration is when the MFA session the profile's credentials
	// come from ends (for a role, its IAM user's), RFC 3339, or empty.
	MFAExpiration string `json:"mfa_expiration,omitempty"`
}

// IMDSStats counts what the IMDS endpoint has answered.
type IMDSStats struct {
	TokensIssued      uint64 `json:"tokens_issued"`
	TokenRequests     uint64 `json:"token_requests"`
	V1Requests        uint64 `json:"v1_requests"`
	CredentialsServed uint64 `json:"credentials_served"`
	CredentialsLocked uint64 `json:"credentials_refused"`
	Unauthorized      uint64 `json:"unauthorized"`
	Refused           uint64 `json:"refused"`
	RefusedOtherUser  uint64 `json:"refused_other_user"`
}

// UnlockRequest asks the daemon to start an MFA session with a code, or
// with one from the profile's mfa_process when Code is empty and
// MFAProcess is set.
type UnlockRequest struct {
	Profile    string `json:"profile"`
	Code       string `json:"code"`
	MFAProcess bool   `json:"mfa_process,omitempty"`
}

// UnlockResponse reports a started MFA session.
type UnlockResponse struct {
	Profile string `json:"profile"`
	// Expiration is when the profile's own credentials end, RFC 3339: the
	// role session's for a role profile (renewed while the MFA session
	// lasts), else the MFA session's.
	Expiration string `json:"expiration"`
	// Source is the IAM user's profile that was unlocked, and
	// MFAExpiration when its MFA session ends.
	Source        string `json:"source"`
	MFAExpiration string `json:"mfa_expiration"`
}

// LockRequest asks the daemon to forget a profile's MFA session.
type LockRequest struct {
	Profile string `json:"profile"`
}

// LockResponse reports what was locked, and whether there was a session
// to forget.
type LockResponse struct {
	Profile   string `json:"profile"`
	WasLocked bool   `json:"was_locked"`
	// Source is the IAM user's profile whose MFA session was locked, and
	// Roles the role profiles built on it, locked with it.
	Source string   `json:"source"`
	Roles  []string `json:"roles,omitempty"`
}

// Kinds of Error, so that a client can tell failures apart without reading
// their text.
const (
	KindBadRequest      = "bad_request"
	KindInvalidCode     = "invalid_code"
	KindCodeUsed        = "code_used"
	KindProfileNotFound = "profile_not_found"
	KindNoMFASerial     = "no_mfa_serial"
	KindNoKeys          = "no_keys"
	KindKeyring         = "keyring"
	// KindKeyringLocked: the keyring waits for its passphrase.
	KindKeyringLocked = "keyring_locked"
	KindSTS           = "sts"
	KindBusy          = "busy"
	KindInternal      = "internal"
)

// Error is a failure the daemon reports: what went wrong, and what to do.
type Error struct {
	Status  int    `json:"-"`
	Kind    string `json:"kind"`
	Message string `json:"error"`
	Hint    string `json:"hint,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// DefaultSocketPath returns where the daemon listens: $MFAD_SOCKET, else
// mfad/mfad.sock in $XDG_RUNTIME_DIR, else a private per-user directory
// under the system's temporary directory (on Windows, a named pipe).
func DefaultSocketPath() string {
	if p := os.Getenv(SocketEnv); p != "" {
		return p
	}
	return defaultSocketPath()
}

// NotRunningError is returned when no daemon answers on the socket.
type NotRunningError struct {
	Socket string
	Err    error
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("failed to connect to mfad at %s: is it running?", e.Socket)
}

func (e *NotRunningError) Unwrap() error { return e.Err }

// Hint tells the user how to start the daemon.
func (e *NotRunningError) Hint() string {
	return "start it with `mfad serve`, or set " + SocketEnv + " to the socket of a running daemon"
}

// NewError returns an Error of kind with the HTTP status that kind travels with.
func NewError(kind, message, hint string) *Error {
	status := http.StatusBadRequest
	switch kind {
	case KindInvalidCode, KindNoMFASerial:
		status = http.StatusUnprocessableEntity
	case KindCodeUsed:
		status = http.StatusConflict
	case KindProfileNotFound, KindNoKeys:
		status = http.StatusNotFound
	case KindKeyring:
		status = http.StatusServiceUnavailable
	case KindKeyringLocked:
		status = http.StatusLocked
	case KindSTS:
		status = http.StatusBadGateway
	case KindBusy:
		status = http.StatusTooManyRequests
	case KindInternal:
		status = http.StatusInternalServerError
	}
	return &Error{Status: status, Kind: kind, Message: message, Hint: hint}
}
