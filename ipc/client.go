package ipc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"sync"
	"time"
)

// Client talks to the daemon. The zero value uses DefaultSocketPath.
type Client struct {
	// Socket is the daemon's socket path; empty means DefaultSocketPath().
	Socket string

	once sync.Once
	http *http.Client
}

// Status returns the daemon's state.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	return &st, c.send(ctx, http.MethodGet, PathStatus, nil, &st)
}

// Unlock starts an MFA session for a profile with a one-time code.
func (c *Client) Unlock(ctx context.Context, profile, code string) (*UnlockResponse, error) {
	var resp UnlockResponse
	return &resp, c.send(ctx, http.MethodPost, PathUnlock, UnlockRequest{Profile: profile, Code: code}, &resp)
}

// UnlockWithMFAProcess starts an MFA session for a profile with a code
// from its mfa_process, which the daemon runs.
func (c *Client) UnlockWithMFAProcess(ctx context.Context, profile string) (*UnlockResponse, error) {
	var resp UnlockResponse
	return &resp, c.send(ctx, http.MethodPost, PathUnlock, UnlockRequest{Profile: profile, MFAProcess: true}, &resp)
}

// OpenKeyring gives the daemon its file keyring's passphrase.
func (c *Client) OpenKeyring(ctx context.Context, passphrase string) (*KeyringResponse, error) {
	var resp KeyringResponse
	return &resp, c.send(ctx, http.MethodPost, PathKeyring, KeyringRequest{Passphrase: passphrase}, &resp)
}

// ListKeys lists the profiles with keys in the daemon's keyring.
func (c *Client) ListKeys(ctx context.Context) (*KeysList, error) {
	var resp KeysList
	return &resp, c.send(ctx, http.MethodGet, PathKeys, nil, &resp)
}

// Keys calls one of the daemon's key operations (PathKeysGet, PathKeysPut,
// PathKeysRemove).
func (c *Client) Keys(ctx context.Context, path string, req KeysRequest) (*KeysResponse, error) {
	var resp KeysResponse
	return &resp, c.send(ctx, http.MethodPost, path, req, &resp)
}

// CloseKeyring makes the daemon forget a keyring it opened with a
// passphrase: the next unlock asks for it again.
func (c *Client) CloseKeyring(ctx context.Context) (*KeyringResponse, error) {
	var resp KeyringResponse
	return &resp, c.send(ctx, http.MethodPost, PathKeyring, KeyringRequest{Close: true}, &resp)
}

// Lock forgets a profile's MFA session.
func (c *Client) Lock(ctx context.Context, profile string) (*LockResponse, error) {
	var resp LockResponse
	return &resp, c.send(ctx, http.MethodPost, PathLock, LockRequest{Profile: profile}, &resp)
}

func (c *Client) socket() string {
	if c.Socket != "" {
		return c.Socket
	}
	return DefaultSocketPath()
}

// DefaultTimeout bounds a call whose context has no deadline: the daemon
// answers from memory in milliseconds, so one that does not answer is
// stopped (SIGSTOP, a debugger) or stuck, and a command must say so rather
// than hang.
const DefaultTimeout = 5 * time.Second

// NotAnsweringError reports a daemon that accepted the call but did not
// answer in time.
type NotAnsweringError struct {
	Socket  string
	Timeout time.Duration
}

func (e *NotAnsweringError) Error() string {
	return fmt.Sprintf("mfad at %s did not answer within %s", e.Socket, e.Timeout)
}

// Hint says what to look at.
func (e *NotAnsweringError) Hint() string {
	return "the daemon may be stopped or stuck: check it with `ps -C mfad -o pid,stat,cmd` (T is stopped; `kill -CONT PID` resumes it), or restart it with `mfad service restart`"
}

// send makes one request and decodes a 200 answer into out, or the error
// the daemon reported. Without a deadline in ctx, it waits DefaultTimeout.
func (c *Client) send(ctx context.Context, method, path string, in, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	timeout := time.Until(deadline).Round(time.Second)
	c.once.Do(func() {
		c.http = &http.Client{Transport: &http.Transport{DialContext: c.dial}}
	})
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+Host+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Dial errors arrive wrapped in *url.Error; unwrap to ours.
		var notRunning *NotRunningError
		if errors.As(err, &notRunning) {
			return notRunning
		}
		var refused *untrustedSocketError
		if errors.As(err, &refused) {
			return refused
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return &NotAnsweringError{Socket: c.socket(), Timeout: timeout}
		}
		return fmt.Errorf("failed to talk to mfad: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if errors.Is(err, context.DeadlineExceeded) {
		return &NotAnsweringError{Socket: c.socket(), Timeout: timeout}
	}
	if err != nil {
		return fmt.Errorf("failed to read mfad's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Kind, e.Message = KindInternal, fmt.Sprintf("mfad answered %s", resp.Status)
		}
		return e
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("failed to decode mfad's answer: %w", err)
	}
	return nil
}

// untrustedSocketError is returned when the socket or the process behind it
// is not the user's: a code must never go to another user's process.
type untrustedSocketError struct{ msg string }

func (e *untrustedSocketError) Error() string { return e.msg }

func (c *Client) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	path := c.socket()
	if err := checkSocketOwner(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &NotRunningError{Socket: path, Err: err}
		}
		return nil, &untrustedSocketError{err.Error()}
	}
	conn, err := dialSocket(ctx, path)
	if err != nil {
		return nil, &NotRunningError{Socket: path, Err: err}
	}
	if self, err := peerIsSelf(conn, false); err != nil || !self {
		conn.Close()
		return nil, &untrustedSocketError{"refusing to talk to the process behind " + path + ": it is not yours"}
	}
	return conn, nil
}
