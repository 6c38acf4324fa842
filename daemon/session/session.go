// Package session keeps each profile's MFA session: it trades a one-time
// code for session credentials once, then hands those credentials out from
// memory until they expire or the user locks the profile.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/awssts"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

// KeySource reads an IAM user's long-term keys.
type KeySource interface {
	Keys(profile string) (keystore.Keys, error)
}

// Issuer obtains MFA sessions and role sessions from STS.
type Issuer interface {
	GetSessionToken(ctx context.Context, req awssts.SessionTokenRequest) (awssts.Credentials, error)
	AssumeRole(ctx context.Context, req awssts.AssumeRoleRequest) (awssts.Credentials, error)
}

// Cache keeps sessions across daemon restarts (the keyring).
type Cache interface {
	PutSession(profile string, s keystore.CachedSession) error
	Sessions() (map[string]keystore.CachedSession, error)
	RemoveSession(profile string) error
}

// DefaultDuration is how long an MFA session lasts unless the profile's
// duration_seconds says otherwise: STS's own default for IAM users.
const DefaultDuration = 12 * time.Hour

// What GetSessionToken accepts for IAM users.
const (
	MinDuration = 15 * time.Minute
	MaxDuration = 36 * time.Hour
)

// Unlock attempts that reach STS are rate limited: a burst of
// unlockBurst, then one per unlockInterval. A person mistyping a few codes
// never notices; a script guessing codes gets nowhere.
const (
	unlockBurst    = 10
	unlockInterval = 6 * time.Second
)

// codeMemory is how long a used code is remembered. Codes are valid for 30
// seconds, and STS accepts one step either side.
const codeMemory = 3 * time.Minute

// Options configure a Manager.
type Options struct {
	Keys     KeySource
	STS      Issuer
	Now      func() time.Time // nil means time.Now
	Duration time.Duration    // zero means DefaultDuration
	// Cache, if set, keeps sessions across restarts (the keyring).
	Cache Cache
	// Kernel, if set, keeps them too, where a restart reads them at once
	// (keystore.KernelSessions): the keyring may take a key derivation or
	// a passphrase to read. A system without it says ErrUnsupported.
	Kernel Cache
	// Logger receives what goes wrong with the cache; nil discards it.
	Logger *slog.Logger
}

// Manager holds the MFA sessions of all profiles. It is safe for
// concurrent use; Credentials never waits for STS.
type Manager struct {
	opts Options

	// unlocking serialises calls to STS: one GetSessionToken at a time.
	unlocking sync.Mutex

	mu sync.RWMutex
	// kept serializes Restore with Lock: a session Restore reads from a
	// cache must not come back after Lock took it out of memory and was
	// about to take it out of the caches.
	kept      sync.Mutex
	sessions  map[string]*entry
	usedCodes map[string]time.Time // serial + "/" + code -> when it was sent
	inflight  map[string]*flight   // by profile
	// attempts is a token bucket of unlock attempts: full at attemptsAt.
	attempts   float64
	attemptsAt time.Time

	// Role sessions, assumed with the MFA sessions (roles.go).
	assuming sync.Mutex            // one round of AssumeRole calls at a time
	roles    map[string]*roleEntry // by role profile
	roleInfo map[string]roleInfo   // by role profile, from the config file
	names    []string              // every profile of the config file
	known    map[string]bool       // the same, as a set
	// configStamp is awsconfig.Stamp as of the last Refresh.
	configStamp string
	wake        chan struct{} // asks the maintainer to run now
}

type entry struct {
	serial    string
	session   Session
	unlocked  bool
	lastError string
}

// Session is a live MFA session.
type Session struct {
	awssts.Credentials
	// ObtainedAt is when STS issued the credentials.
	ObtainedAt time.Time
	// AccountID is the account of the IAM user, when mfa_serial says.
	AccountID string
}

// New returns a Manager with every profile locked.
func New(opts Options) *Manager {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Duration == 0 {
		opts.Duration = DefaultDuration
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{opts: opts, sessions: map[string]*entry{}, usedCodes: map[string]time.Time{}, inflight: map[string]*flight{},
		attempts: unlockBurst, attemptsAt: opts.Now(), roles: map[string]*roleEntry{}, roleInfo: map[string]roleInfo{}, known: map[string]bool{},
		wake: make(chan struct{}, 1)}
}

// codePattern compiles on first use, not at every start.
var codePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{6}$`) })

// flight is an unlock under way, which later callers for the same profile
// wait for instead of starting their own.
type flight struct {
	done  chan struct{}
	creds awssts.Credentials
	err   error
}

// Unlock starts profile's MFA session with a TOTP code and returns its
// credentials. Failures are *ipc.Error values that say what to do. While
// an unlock of the profile is under way, another one waits for it and
// shares its outcome: two terminals typing the same code cause one call.
func (m *Manager) Unlock(ctx context.Context, profile string, code secret.Value) (awssts.Credentials, error) {
	// "123 456", as authenticators show codes, is 123456.
	code = secret.New(strings.Join(strings.Fields(code.Reveal()), ""))
	if !codePattern().MatchString(code.Reveal()) {
		return awssts.Credentials{}, ipc.NewError(ipc.KindInvalidCode,
			"an MFA code is the 6 digits your authenticator shows", "run `mfad unlock` again with the current code")
	}
	chain, err := awsconfig.Chain(ctx, profile)
	if err != nil {
		return awssts.Credentials{}, m.failed(profile, err)
	}
	// Unlocking a role profile unlocks the IAM user at its root, and with
	// it every role built on that user.
	root := chain[0].Name
	m.mu.Lock()
	if f := m.inflight[root]; f != nil {
		m.mu.Unlock()
		select {
		case <-f.done:
			return f.creds, f.err
		case <-ctx.Done():
			return awssts.Credentials{}, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	m.inflight[root] = f
	m.mu.Unlock()

	f.creds, f.err = m.unlock(ctx, chain, code)
	m.mu.Lock()
	delete(m.inflight, root)
	m.mu.Unlock()
	close(f.done)
	if f.err != nil {
		return f.creds, f.err
	}
	// Assume every role built on this user now, so that each is ready
	// when asked for; a failure of the role asked for is the caller's.
	m.Refresh(ctx)
	failed := m.assumeRolesOf(ctx, root)
	if len(chain) == 1 {
		return f.creds, nil
	}
	if err, ok := failed[profile]; ok {
		return f.creds, err
	}
	if _, err := m.Credentials(profile); err != nil {
		// Skipped for a recent failure: asked for by name, it is tried now.
		m.assuming.Lock()
		err := m.assumeRole(ctx, profile, m.opts.Now())
		m.assuming.Unlock()
		if err != nil {
			return f.creds, err
		}
	}
	return f.creds, nil
}

func (m *Manager) unlock(ctx context.Context, chain []*awsconfig.Profile, code secret.Value) (awssts.Credentials, error) {
	p := *chain[0]
	profile := p.Name
	p.MFASerial = awsconfig.MFASerial(chain)
	if p.MFASerial == "" {
		return awssts.Credentials{}, m.failed(profile, awsconfig.NoMFASerialError(profile))
	}
	duration := m.opts.Duration
	if p.SessionDuration != 0 {
		duration = p.SessionDuration
	}
	if duration < MinDuration || duration > MaxDuration {
		return awssts.Credentials{}, m.failed(profile, ipc.NewError(ipc.KindBadRequest,
			fmt.Sprintf("duration_seconds = %d in profile %s is out of range: an MFA session lasts 900 to 129600 seconds", int(duration/time.Second), profile),
			"fix duration_seconds in "+awsconfig.ConfigFile()+", or remove it for 12 hours"))
	}
	keys, err := m.opts.Keys.Keys(profile)
	if err != nil {
		return awssts.Credentials{}, m.failed(profile, err)
	}

	m.unlocking.Lock()
	defer m.unlocking.Unlock()
	if wait := m.takeAttempt(); wait > 0 {
		return awssts.Credentials{}, m.failed(profile, ipc.NewError(ipc.KindBusy,
			"too many unlock attempts", fmt.Sprintf("wait %s, then unlock with the code shown then", wait.Round(time.Second))))
	}
	// Remember the code before it leaves: whatever STS answers, even
	// nothing, it must never be sent again.
	if !m.claimCode(p.MFASerial, code.Reveal()) {
		return awssts.Credentials{}, m.failed(profile, ipc.NewError(ipc.KindCodeUsed,
			"that code was already used", "wait for your authenticator to show the next code, then run `mfad unlock` again"))
	}
	creds, err := m.opts.STS.GetSessionToken(ctx, awssts.SessionTokenRequest{
		Profile: &p, Keys: keys, Code: code, Duration: duration,
	})
	if err != nil {
		return awssts.Credentials{}, m.failed(profile, err)
	}
	sess := Session{Credentials: creds, ObtainedAt: m.opts.Now(), AccountID: p.AccountID}
	m.mu.Lock()
	m.sessions[profile] = &entry{serial: p.MFASerial, unlocked: true, session: sess}
	m.mu.Unlock()
	m.keep(profile, keystore.CachedSession{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
		Expiration: creds.Expiration, ObtainedAt: sess.ObtainedAt, AccountID: sess.AccountID, MFASerial: p.MFASerial,
	}, true)
	return creds, nil
}

// keep keeps a session for a restart, in the kernel's keyring and, with
// inKeyring, in the keyring. Neither is needed for the session to work:
// failures are logged.
func (m *Manager) keep(profile string, c keystore.CachedSession, inKeyring bool) {
	if m.opts.Kernel != nil {
		if err := m.opts.Kernel.PutSession(profile, c); err != nil && !errors.Is(err, keystore.ErrUnsupported) {
			m.opts.Logger.Warn("could not keep the session in the kernel's keyring", "profile", profile, "error", err.Error())
		}
	}
	if inKeyring && m.opts.Cache != nil {
		if err := m.opts.Cache.PutSession(profile, c); err != nil {
			// The session works; only a restart will need a new code.
			m.opts.Logger.Warn("could not keep the session in the keyring", "profile", profile, "error", err.Error())
		}
	}
}

// RestoreKernel takes back the sessions kept in the kernel's keyring: at
// start, before serving, at the cost of a system call.
func (m *Manager) RestoreKernel() ([]string, error) {
	if m.opts.Kernel == nil {
		return nil, nil
	}
	restored, err := m.restoreFrom(m.opts.Kernel, false)
	if errors.Is(err, keystore.ErrUnsupported) {
		return nil, nil
	}
	return restored, err
}

// Restore takes back the sessions kept in the keyring that have not
// expired, and purges those that have. A session kept replaces none in
// memory, or an older one; it runs while the daemon serves, in turn with
// Lock. Sessions restored from the keyring are
// kept in the kernel's too, for the next restart. It returns the profiles
// restored.
func (m *Manager) Restore() ([]string, error) {
	if m.opts.Cache == nil {
		return nil, nil
	}
	return m.restoreFrom(m.opts.Cache, true)
}

func (m *Manager) restoreFrom(c Cache, fromKeyring bool) ([]string, error) {
	m.kept.Lock()
	defer m.kept.Unlock()
	kept, err := c.Sessions()
	if err != nil {
		return nil, err
	}
	now := m.opts.Now()
	var restored []string
	m.mu.Lock()
	for profile, k := range kept {
		if !now.Before(k.Expiration) {
			if err := c.RemoveSession(profile); err != nil {
				m.opts.Logger.Warn("could not purge an expired session", "profile", profile, "error", err.Error())
			}
			continue
		}
		if e := m.sessions[profile]; e != nil && e.unlocked && !k.ObtainedAt.After(e.session.ObtainedAt) {
			continue
		}
		m.sessions[profile] = &entry{serial: k.MFASerial, unlocked: true, session: Session{
			Credentials: awssts.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, SessionToken: k.SessionToken, Expiration: k.Expiration},
			ObtainedAt:  k.ObtainedAt,
			AccountID:   k.AccountID,
		}}
		restored = append(restored, profile)
	}
	m.mu.Unlock()
	if fromKeyring {
		for _, profile := range restored {
			m.keep(profile, kept[profile], false)
		}
	}
	slices.Sort(restored)
	return restored, nil
}

// takeAttempt takes one unlock attempt from the bucket, or returns how long
// until one is available.
func (m *Manager) takeAttempt() time.Duration {
	now := m.opts.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts = min(unlockBurst, m.attempts+float64(now.Sub(m.attemptsAt))/float64(unlockInterval))
	m.attemptsAt = now
	if m.attempts < 1 {
		return time.Duration((1 - m.attempts) * float64(unlockInterval))
	}
	m.attempts--
	return 0
}

// claimCode records code as used and reports whether it was new.
func (m *Manager) claimCode(serial, code string) bool {
	now := m.opts.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, at := range m.usedCodes {
		if now.Sub(at) > codeMemory {
			delete(m.usedCodes, k)
		}
	}
	key := serial + "/" + code
	if _, used := m.usedCodes[key]; used {
		return false
	}
	m.usedCodes[key] = now
	return true
}

// failed records err as profile's last error, for status, and returns it.
// A profile the config file does not define gets no record.
func (m *Manager) failed(profile string, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if profile != "default" && !m.known[profile] {
		return err
	}
	e := m.sessions[profile]
	if e == nil {
		e = &entry{}
		m.sessions[profile] = e
	}
	e.lastError = err.Error()
	return err
}

// Lock forgets the MFA session profile is built on, with its roles, in
// memory and in the cache, and reports whether it was live.
func (m *Manager) Lock(profile string) (bool, error) {
	profile = m.RootOf(profile)
	m.kept.Lock()
	defer m.kept.Unlock()
	m.mu.Lock()
	m.dropRolesOf(profile)
	was := false
	if e := m.sessions[profile]; e != nil {
		if e.unlocked {
			was = m.opts.Now().Before(e.session.Expiration)
		}
		*e = entry{serial: e.serial}
	}
	m.mu.Unlock()
	// The kernel's copy first: a restart must not find what was locked.
	if m.opts.Kernel != nil {
		if err := m.opts.Kernel.RemoveSession(profile); err != nil && !errors.Is(err, keystore.ErrUnsupported) {
			return was, err
		}
	}
	if m.opts.Cache != nil {
		if err := m.opts.Cache.RemoveSession(profile); err != nil {
			return was, err
		}
	}
	return was, nil
}

// LockedError is returned by Credentials for a profile without a live session.
type LockedError struct {
	Profile string
	// Source is the IAM user's profile a role profile is built on.
	Source string
	// Expired is when the last session ended, if it ended by expiring.
	Expired time.Time
	// Ending says that the session has not quite ended: it is in its last
	// minute, which is not served (LastServed).
	Ending bool
}

func (e *LockedError) Error() string {
	who := "profile " + e.Profile
	if e.Source != "" && e.Source != e.Profile {
		who += " (through " + e.Source + ")"
	}
	if !e.Expired.IsZero() {
		if e.Ending {
			return fmt.Sprintf("the MFA session of %s ends at %s, in less than a minute", who, e.Expired.Local().Format(time.DateTime))
		}
		return fmt.Sprintf("the MFA session of %s expired at %s", who, e.Expired.Local().Format(time.DateTime))
	}
	return fmt.Sprintf("the MFA session of %s is locked", who)
}

// LastServed is how long before its end a session is no longer handed out:
// its last minute counts as ended. The AWS SDK for JavaScript v2, handed
// credentials within 15 seconds of their end, tries to extend them, fails
// inside a callback and never calls back; no client can use a session's
// last seconds for anything but a failed call.
const LastServed = time.Minute

// Credentials returns profile's live session, or a *LockedError. Expiry is
// judged by the wall clock at each call, so a laptop that slept past it
// wakes up locked. A session in its last minute (LastServed) counts as
// ended.
func (m *Manager) Credentials(profile string) (Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	root := profile
	info, isRole := m.roleInfo[profile]
	if isRole {
		if info.broken != nil {
			return Session{}, info.broken
		}
		root = info.root
	}
	e := m.sessions[root]
	if e == nil || !e.unlocked {
		return Session{}, &LockedError{Profile: profile, Source: root}
	}
	now := m.opts.Now()
	if !now.Add(LastServed).Before(e.session.Expiration) {
		return Session{}, &LockedError{Profile: profile, Source: root, Expired: e.session.Expiration, Ending: now.Before(e.session.Expiration)}
	}
	if !isRole {
		return e.session, nil
	}
	if r := m.roles[profile]; r != nil && now.Add(LastServed).Before(r.session.Expiration) {
		return r.session, nil
	}
	m.poke()
	return Session{}, &PendingError{Profile: profile, RoleARN: info.arn, LastError: m.roleError(profile)}
}

// Expirations returns when each unlocked profile's session ends (or
// ended: an expired session stays listed until locked or replaced).
func (m *Manager) Expirations() map[string]time.Time {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string]time.Time{}
	for name, e := range m.sessions {
		if e.unlocked {
			out[name] = e.session.Expiration
		}
	}
	return out
}

// Status reports on the given profiles and those of the config file as of
// the last Refresh, sorted by name: a name mistyped in a command, or a
// profile since deleted from the file, is not listed.
func (m *Manager) Status(profiles ...string) []ipc.ProfileStatus {
	m.mu.RLock()
	defer m.mu.RUnlock()
	names := slices.Clone(profiles)
	names = append(names, m.names...)
	slices.Sort(names)
	names = slices.Compact(names)
	now := m.opts.Now()
	out := make([]ipc.ProfileStatus, 0, len(names))
	for _, name := range names {
		if info, ok := m.roleInfo[name]; ok {
			out = append(out, m.roleStatus(name, info, now))
			continue
		}
		st := ipc.ProfileStatus{Name: name, State: ipc.StateLocked}
		if e := m.sessions[name]; e != nil {
			st.MFASerial, st.LastError = e.serial, e.lastError
			if e.unlocked {
				st.LastUnlock = e.session.ObtainedAt.UTC().Format(time.RFC3339)
			}
			if e.unlocked && now.Before(e.session.Expiration) {
				st.State = ipc.StateUnlocked
				st.Expiration = e.session.Expiration.UTC().Format(time.RFC3339)
				st.MFAExpiration = st.Expiration
			}
		}
		out = append(out, st)
	}
	return out
}
