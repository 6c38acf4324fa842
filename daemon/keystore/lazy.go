package keystore

import (
	"sync"

	"github.com/mfad/mfad/ipc"
)

// Lazy is a keyring that opens when its passphrase arrives: a daemon
// started without a terminal and without the passphrase in its
// environment (a login service on a headless box) serves at once, locked,
// and `mfad unlock` sends the passphrase over the control socket, as
// ssh-agent takes keys. Until then every read says the keyring is locked
// and what to run.
type Lazy struct {
	// File names the keyring, for messages.
	File string
	open func(passphrase string) (*Store, error)

	mu    sync.Mutex
	store *Store
}

// NewLazy returns a Lazy that opens with open, which must check the
// passphrase (Store.Unlock).
func NewLazy(file string, open func(passphrase string) (*Store, error)) *Lazy {
	return &Lazy{File: file, open: open}
}

// Locked reports whether the keyring still waits for its passphrase.
func (l *Lazy) Locked() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.store == nil
}

// Open opens the keyring with passphrase, unless it is open already. A
// wrong passphrase leaves it locked.
func (l *Lazy) Open(passphrase string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store != nil {
		return nil
	}
	s, err := l.open(passphrase)
	if err != nil {
		return err
	}
	l.store = s
	return nil
}

func (l *Lazy) opened() (*Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store == nil {
		return nil, ipc.NewError(ipc.KindKeyringLocked, "the encrypted key file "+l.File+" is locked: the daemon has not been given its passphrase",
			"run `mfad unlock` in a terminal: it asks for the passphrase, then the code")
	}
	return l.store, nil
}

// Keys returns the keys stored for profile.
func (l *Lazy) Keys(profile string) (Keys, error) {
	s, err := l.opened()
	if err != nil {
		return Keys{}, err
	}
	return s.Keys(profile)
}

// PutSession keeps a session for a restart.
func (l *Lazy) PutSession(profile string, c CachedSession) error {
	s, err := l.opened()
	if err != nil {
		return err
	}
	return s.PutSession(profile, c)
}

// Sessions returns the sessions kept; none while locked.
func (l *Lazy) Sessions() (map[string]CachedSession, error) {
	s, err := l.opened()
	if err != nil {
		return nil, nil
	}
	return s.Sessions()
}

// RemoveSession forgets a kept session.
func (l *Lazy) RemoveSession(profile string) error {
	s, err := l.opened()
	if err != nil {
		return err
	}
	return s.RemoveSession(profile)
}
