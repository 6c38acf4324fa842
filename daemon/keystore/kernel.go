package keystore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// ErrUnsupported says the system offers no kernel keyrings.
var ErrUnsupported = errors.New("not supported")

// KernelSessions keeps MFA sessions where a restarted daemon finds them at
// once: in the Linux kernel's key retention service (keyrings(7)), in the
// user's keyring, as one key of type "user" that only the user (and root)
// can read, that is never written to disk or swap, and that the kernel
// drops when the last session in it ends, or at reboot.
//
// It holds nothing more than the daemon hands out: the temporary session
// credentials that any of the user's processes gets from the endpoint.
// The long-term keys stay in the keyring. Restoring from here costs a
// system call, where the file keyring costs a key derivation (scrypt,
// about 90 ms, then PBES2 per item) and a desktop keyring a D-Bus round
// trip; the daemon still restores from its keyring too, for the sessions
// a reboot dropped from here.
//
// Where the kernel offers no keyrings (other systems; containers whose
// seccomp profile refuses keyctl) every method fails with ErrUnsupported
// and the daemon goes on with its keyring alone.
type KernelSessions struct {
	desc string
	mu   sync.Mutex
}

// NewKernelSessions returns the kernel's session cache of the daemon whose
// state lives in stateDir: daemons of different logins, or tests beside
// a user's own daemon, each have their own.
func NewKernelSessions(stateDir string) *KernelSessions {
	sum := sha256.Sum256([]byte(stateDir))
	return &KernelSessions{desc: "mfad:sessions:" + hex.EncodeToString(sum[:8])}
}

// PutSession keeps profile's session, replacing the one kept before.
func (k *KernelSessions) PutSession(profile string, c CachedSession) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	all, err := k.read()
	if err != nil {
		return err
	}
	all[profile] = stored(c)
	return k.write(all)
}

// Sessions returns every kept session by profile.
func (k *KernelSessions) Sessions() (map[string]CachedSession, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	all, err := k.read()
	if err != nil {
		return nil, err
	}
	out := make(map[string]CachedSession, len(all))
	for profile, st := range all {
		out[profile] = st.cached()
	}
	return out, nil
}

// RemoveSession forgets profile's kept session; none kept is no error.
func (k *KernelSessions) RemoveSession(profile string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	all, err := k.read()
	if err != nil {
		return err
	}
	if _, ok := all[profile]; !ok {
		return nil
	}
	delete(all, profile)
	return k.write(all)
}

// Forget drops every session kept for this daemon.
func (k *KernelSessions) Forget() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return kernelRemove(k.desc)
}

// read returns the kept sessions that have not ended.
func (k *KernelSessions) read() (map[string]storedSession, error) {
	data, err := kernelRead(k.desc)
	if err != nil {
		return nil, err
	}
	all := map[string]storedSession{}
	if data != nil && json.Unmarshal(data, &all) != nil {
		all = map[string]storedSession{} // unreadable: a cache, start afresh
	}
	now := time.Now()
	for profile, st := range all {
		if !now.Before(st.Expiration) {
			delete(all, profile)
		}
	}
	return all, nil
}

// write replaces the key with all, to expire with its last session.
func (k *KernelSessions) write(all map[string]storedSession) error {
	if len(all) == 0 {
		return kernelRemove(k.desc)
	}
	var last time.Time
	for _, st := range all {
		if st.Expiration.After(last) {
			last = st.Expiration
		}
	}
	data, err := json.Marshal(all)
	if err != nil {
		return err
	}
	return kernelWrite(k.desc, data, time.Until(last))
}
