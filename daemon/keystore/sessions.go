package keystore

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/99designs/keyring"

	"github.com/mfad/mfad/daemon/secret"
)

// sessionsPrefix names the items that keep MFA sessions across restarts.
const sessionsPrefix = "mfad/sessions/"

// CachedSession is an MFA session as the keyring keeps it, so that a
// restarted daemon (after a crash, an upgrade or a logout) needs no new code.
type CachedSession struct {
	AccessKeyID     string
	SecretAccessKey secret.Value
	SessionToken    secret.Value
	Expiration      time.Time
	ObtainedAt      time.Time
	AccountID       string
	MFASerial       string
}

type storedSession struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
	ObtainedAt      time.Time `json:"obtained_at"`
	AccountID       string    `json:"account_id,omitempty"`
	MFASerial       string    `json:"mfa_serial,omitempty"`
}

func stored(c CachedSession) storedSession {
	return storedSession{
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey.Reveal(), SessionToken: c.SessionToken.Reveal(),
		Expiration: c.Expiration, ObtainedAt: c.ObtainedAt, AccountID: c.AccountID, MFASerial: c.MFASerial,
	}
}

func (st storedSession) cached() CachedSession {
	return CachedSession{
		AccessKeyID: st.AccessKeyID, SecretAccessKey: secret.New(st.SecretAccessKey), SessionToken: secret.New(st.SessionToken),
		Expiration: st.Expiration, ObtainedAt: st.ObtainedAt, AccountID: st.AccountID, MFASerial: st.MFASerial,
	}
}

// PutSession keeps profile's session, replacing the one kept before.
func (s *Store) PutSession(profile string, c CachedSession) error {
	if err := s.Unlock(); err != nil {
		return err
	}
	data, err := json.Marshal(stored(c))
	if err != nil {
		return err
	}
	item := keyring.Item{Key: sessionsPrefix + profile, Data: data, Label: "mfad: MFA session for profile " + profile}
	return s.wrap("keep the session of profile "+profile, s.do(func() error { return s.ring.Set(item) }))
}

// Sessions returns every kept session by profile. Entries this version
// cannot read are skipped: a session is only a convenience.
func (s *Store) Sessions() (map[string]CachedSession, error) {
	var names []string
	if err := s.do(func() (err error) { names, err = s.ring.Keys(); return err }); err != nil {
		return nil, s.wrap("list kept sessions", err)
	}
	out := map[string]CachedSession{}
	for _, n := range names {
		profile, ok := strings.CutPrefix(n, sessionsPrefix)
		if !ok {
			continue
		}
		var item keyring.Item
		if err := s.do(func() (err error) { item, err = s.ring.Get(n); return err }); err != nil {
			return nil, s.wrap("read the session of profile "+profile, err)
		}
		var st storedSession
		if json.Unmarshal(item.Data, &st) != nil || st.AccessKeyID == "" {
			continue
		}
		out[profile] = st.cached()
	}
	return out, nil
}

// RemoveSession forgets profile's kept session; none kept is no error.
func (s *Store) RemoveSession(profile string) error {
	err := s.do(func() error { return s.ring.Remove(sessionsPrefix + profile) })
	if errors.Is(err, keyring.ErrKeyNotFound) || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return s.wrap("forget the session of profile "+profile, err)
}
