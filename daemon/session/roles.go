package session

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/awssts"
	"github.com/mfad/mfad/ipc"
)

const (
	// RenewBefore is how long before its end a role session is renewed
	// (and an MFA session, where mfa_process can give a code): well before
	// the 15 minutes at which botocore starts refreshing, so clients are
	// never handed credentials about to end while the MFA session lives on.
	RenewBefore = 20 * time.Minute
	// retryAfter is how long a role that could not be assumed waits
	// before the next try.
	retryAfter = time.Minute
)

// roleInfo is what the config file says of a role profile.
type roleInfo struct {
	root string // the IAM user's profile at the root of its chain
	arn  string
	// broken is why the profile cannot be used (a chain that loops, a
	// duration out of range…); root and arn are then empty.
	broken error
}

// roleEntry is a role session, or the last failure to get one.
type roleEntry struct {
	session   Session
	lastError string
	lastTry   time.Time
}

// PendingError is returned by Credentials for a role profile whose MFA
// session is live but whose role session is not there (yet): it is being
// assumed in the background.
type PendingError struct {
	Profile   string
	RoleARN   string
	LastError string
}

func (e *PendingError) Error() string {
	if e.LastError != "" {
		return "role " + e.RoleARN + " of profile " + e.Profile + " could not be assumed: " + e.LastError
	}
	return "mfad is assuming role " + e.RoleARN + " for profile " + e.Profile + "; try again in a moment"
}

// Wake is signalled when a request found a role session missing: the
// maintainer should run Maintain now rather than at its next tick.
func (m *Manager) Wake() <-chan struct{} { return m.wake }

// Poke asks the maintainer to run now.
func (m *Manager) Poke() { m.poke() }

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Refresh re-reads the config file if it changed since the last Refresh
// (a stat tells), and reports whether it did: which profiles there are,
// which are roles, and which IAM user each is built on. A role profile that
// cannot be resolved is kept with its error, for status and for clients.
func (m *Manager) Refresh(ctx context.Context) bool {
	stamp := awsconfig.Stamp()
	m.mu.RLock()
	same := stamp == m.configStamp
	m.mu.RUnlock()
	if same {
		return false
	}
	names, err := awsconfig.Names()
	if err != nil {
		m.opts.Logger.Warn("could not list profiles", "error", err.Error())
		return false
	}
	info := map[string]roleInfo{}
	known := map[string]bool{}
	for _, name := range names {
		known[name] = true
		chain, err := awsconfig.Chain(ctx, name)
		switch {
		case err != nil && awsconfig.IsRole(name):
			info[name] = roleInfo{broken: err}
		case err == nil && len(chain) >= 2:
			info[name] = roleInfo{root: chain[0].Name, arn: chain[len(chain)-1].Role.ARN}
		}
	}
	m.mu.Lock()
	m.roleInfo, m.names, m.known, m.configStamp = info, names, known, stamp
	m.mu.Unlock()
	return true
}

// Known reports whether the config file defines profile, as of the last
// Refresh. "default" is always known: it needs no section, as in the CLI.
func (m *Manager) Known(profile string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return profile == "default" || m.known[profile]
}

// RolesOf returns the role profiles built on the IAM user's profile root,
// sorted.
func (m *Manager) RolesOf(root string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var roles []string
	for name, info := range m.roleInfo {
		if info.broken == nil && info.root == root {
			roles = append(roles, name)
		}
	}
	slices.Sort(roles)
	return roles
}

// RootOf returns the IAM user's profile that profile is built on.
func (m *Manager) RootOf(profile string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if info, ok := m.roleInfo[profile]; ok {
		return info.root
	}
	return profile
}

// Maintain assumes every role whose MFA session is live and whose role
// session is missing or near its end, and forgets the roles of MFA
// sessions that ended. It makes the STS calls; a maintainer goroutine runs
// it on a ticker and when woken, never on a request's path.
func (m *Manager) Maintain(ctx context.Context) {
	m.Refresh(ctx)
	m.mu.RLock()
	roots := map[string]bool{}
	for _, info := range m.roleInfo {
		if info.broken == nil {
			roots[info.root] = true
		}
	}
	m.mu.RUnlock()
	for root := range roots {
		m.assumeRolesOf(ctx, root)
	}
}

// assumeRolesOf assumes the roles built on root that need it, and returns
// the failures by profile.
func (m *Manager) assumeRolesOf(ctx context.Context, root string) map[string]error {
	m.assuming.Lock()
	defer m.assuming.Unlock()
	now := m.opts.Now()
	m.mu.Lock()
	e := m.sessions[root]
	if e == nil || !e.unlocked || !now.Before(e.session.Expiration) {
		m.dropRolesOf(root)
		m.mu.Unlock()
		return nil
	}
	var due []string
	for name, info := range m.roleInfo {
		if info.root != root {
			continue
		}
		r := m.roles[name]
		switch {
		case r == nil:
		case r.lastError != "" && now.Sub(r.lastTry) < retryAfter:
			continue
		case r.lastError == "" && r.session.Expiration.Sub(now) > RenewBefore:
			continue
		}
		due = append(due, name)
	}
	m.mu.Unlock()

	failed := map[string]error{}
	for _, name := range due {
		m.mu.RLock()
		r := m.roles[name]
		m.mu.RUnlock()
		if r != nil && r.lastError == "" && r.lastTry.Equal(now) {
			continue // assumed just now, as a hop of another role's chain
		}
		if err := m.assumeRole(ctx, name, now); err != nil {
			failed[name] = err
			m.opts.Logger.Warn("could not assume role", "profile", name, "error", err.Error())
		}
	}
	return failed
}

// assumeRole assumes profile's role, hop by hop along its chain, starting
// from the MFA session at its root. Called with m.assuming held.
func (m *Manager) assumeRole(ctx context.Context, profile string, now time.Time) error {
	chain, err := awsconfig.Chain(ctx, profile)
	if err != nil {
		return m.roleFailed(profile, now, err)
	}
	m.mu.RLock()
	root := m.sessions[chain[0].Name]
	m.mu.RUnlock()
	if root == nil || !root.unlocked {
		return m.roleFailed(profile, now, &LockedError{Profile: profile, Source: chain[0].Name})
	}
	caller := root.session.Credentials
	for _, hop := range chain[1:] {
		if hop.Name != profile {
			// An intermediate role still fresh is reused.
			m.mu.RLock()
			r := m.roles[hop.Name]
			m.mu.RUnlock()
			if r != nil && r.lastError == "" && r.session.Expiration.Sub(now) > RenewBefore {
				caller = r.session.Credentials
				continue
			}
		}
		name := hop.Role.SessionName
		if name == "" {
			name = "mfad-" + strconv.FormatInt(now.Unix(), 10)
		}
		creds, err := m.opts.STS.AssumeRole(ctx, awssts.AssumeRoleRequest{Profile: hop, Caller: caller, SessionName: name})
		if err != nil {
			m.roleFailed(hop.Name, now, err)
			return m.roleFailed(profile, now, err)
		}
		m.mu.Lock()
		m.roles[hop.Name] = &roleEntry{session: Session{Credentials: creds, ObtainedAt: now, AccountID: hop.AccountID}, lastTry: now}
		m.mu.Unlock()
		m.opts.Logger.Info("assumed role", "profile", hop.Name, "role", hop.Role.ARN, "expires", creds.Expiration.Format(time.RFC3339))
		caller = creds
	}
	return nil
}

// roleFailed records err as profile's last role error and returns it.
func (m *Manager) roleFailed(profile string, now time.Time, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.roles[profile]
	if r == nil {
		r = &roleEntry{}
		m.roles[profile] = r
	}
	r.lastError, r.lastTry = err.Error(), now
	return err
}

// dropRolesOf forgets the role sessions built on root. Called with m.mu held.
func (m *Manager) dropRolesOf(root string) {
	for name, info := range m.roleInfo {
		if info.root == root {
			delete(m.roles, name)
		}
	}
}

// roleError is profile's last role failure. Called with m.mu held.
func (m *Manager) roleError(profile string) string {
	if r := m.roles[profile]; r != nil {
		return r.lastError
	}
	return ""
}

// roleStatus reports on a role profile. Called with m.mu held.
func (m *Manager) roleStatus(name string, info roleInfo, now time.Time) ipc.ProfileStatus {
	st := ipc.ProfileStatus{Name: name, Source: info.root, RoleARN: info.arn, State: ipc.StateLocked}
	if info.broken != nil {
		st.LastError = info.broken.Error()
		return st
	}
	e := m.sessions[info.root]
	if e == nil || !e.unlocked || !now.Before(e.session.Expiration) {
		return st
	}
	st.MFASerial = e.serial
	st.MFAExpiration = e.session.Expiration.UTC().Format(time.RFC3339)
	r := m.roles[name]
	if r != nil && now.Before(r.session.Expiration) && r.session.AccessKeyID != "" {
		st.State = ipc.StateUnlocked
		st.Expiration = r.session.Expiration.UTC().Format(time.RFC3339)
		st.LastUnlock = r.session.ObtainedAt.UTC().Format(time.RFC3339)
		return st
	}
	st.State = ipc.StatePending
	if r != nil {
		st.LastError = r.lastError
	}
	return st
}
