package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/harden"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/daemon/session"
)

const (
	// autoUnlockInterval is the least time between two runs of one
	// profile's mfa_process: each may ask the user to touch a key.
	autoUnlockInterval = time.Minute
	// mfaProcessTimeout bounds one run, touch included.
	mfaProcessTimeout = time.Minute
)

// autoUnlock runs a profile's mfa_process when a program asks for its
// credentials while it is locked, and unlocks with the code it prints. The
// request that set it off is answered at once, locked; the ones after the
// unlock find the session.
type autoUnlock struct {
	sessions *session.Manager
	notices  *notices
	logger   *slog.Logger

	mu      sync.Mutex
	last    map[string]time.Time // profile -> last run
	renewed map[string]time.Time // IAM user's profile -> last renewal tried

	// onUnlock, if set, is called after an unlock.
	onUnlock func()
}

func newAutoUnlock(sessions *session.Manager, n *notices, logger *slog.Logger) *autoUnlock {
	return &autoUnlock{sessions: sessions, notices: n, logger: logger, last: map[string]time.Time{}, renewed: map[string]time.Time{}}
}

// trigger starts a run for profile unless one started recently. It never waits.
func (a *autoUnlock) trigger(profile string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if last, ok := a.last[profile]; ok && now.Sub(last) < autoUnlockInterval {
		return
	}
	a.last[profile] = now
	go a.run(profile)
}

// renew starts a new MFA session for the IAM user's profile root with its
// mfa_process, if it has one, before the current one ends: at most once
// per session.RenewBefore, so that a session STS keeps short, or an
// mfa_process that fails, is not tried over and over. It never waits.
func (a *autoUnlock) renew(root string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if last, ok := a.renewed[root]; ok && now.Sub(last) < session.RenewBefore {
		return
	}
	a.renewed[root] = now
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), mfaProcessTimeout)
		defer cancel()
		if err := a.unlockNow(ctx, root); err == nil {
			a.logger.Info("renewed the MFA session with mfa_process before its end", "profile", root)
		}
	}()
}

func (a *autoUnlock) run(profile string) {
	ctx, cancel := context.WithTimeout(context.Background(), mfaProcessTimeout)
	defer cancel()
	if err := a.unlockNow(ctx, profile); err != nil && !errors.Is(err, errNoMFAProcess) {
		a.notices.show("AWS unlock failed", fmt.Sprintf("mfa_process of profile %s: %v. Run `mfad unlock`.", profile, err))
	}
}

// errNoMFAProcess is unlockNow's answer for a profile without mfa_process.
var errNoMFAProcess = errors.New("no mfa_process")

// unlockNow unlocks profile with a code from its mfa_process (its IAM
// user's, or the nearest role's), now.
func (a *autoUnlock) unlockNow(ctx context.Context, profile string) error {
	chain, err := awsconfig.Chain(ctx, profile)
	if err != nil {
		return err
	}
	command := awsconfig.MFAProcess(chain)
	if command == "" {
		return errNoMFAProcess
	}
	a.logger.Info("running mfa_process to unlock", "profile", profile)
	code, err := runMFAProcess(ctx, command)
	if err == nil {
		_, err = a.sessions.Unlock(ctx, profile, code)
	}
	if err != nil {
		a.logger.Warn("mfa_process could not unlock", "profile", profile, "error", err.Error())
		return err
	}
	a.logger.Info("unlocked by mfa_process", "profile", profile)
	if a.onUnlock != nil {
		a.onUnlock()
	}
	return nil
}

// runMFAProcess runs command in the user's shell and returns the code it
// printed: the last line of its output.
func runMFAProcess(ctx context.Context, command string) (secret.Value, error) {
	var cmd *exec.Cmd
	if runtime.GOOS == "windows" {
		cmd = exec.CommandContext(ctx, "cmd", "/C", command)
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", command)
	}
	cmd.Env = harden.ChildEnv(os.Environ())
	out, err := cmd.Output()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return secret.Value{}, fmt.Errorf("mfa_process did not finish within %s", mfaProcessTimeout)
	}
	if err != nil {
		return secret.Value{}, fmt.Errorf("mfa_process failed: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return secret.New(strings.TrimSpace(lines[len(lines)-1])), nil
}
