package keystore

import (
	"sync"
	"time"

	"github.com/99designs/keyring"

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
	// retry, if set, opens a keyring that needs no passphrase but did
	// not answer (a Secret Service not up yet at login): tried again at
	// every use, until it answers.
	retry func() (*Store, error)
	// waiting says what the keyring waits for, for status.
	waiting string

	mu    sync.Mutex
	store *Store
}

// NewLazy returns a Lazy that opens with open, which must check the
// passphrase (Store.Unlock).
func NewLazy(file string, open func(passphrase string) (*Store, error)) *Lazy {
	return &Lazy{File: file, open: open, waiting: "its passphrase: `mfad unlock` asks for it"}
}

// NewRetrying returns a Lazy for a keyring that could not be opened yet
// (why): every use tries open again, so a daemon started before the
// keyring (at login) waits for it instead of exiting.
func NewRetrying(why error, open func() (*Store, error)) *Lazy {
	return &Lazy{retry: open, waiting: "the keyring, which did not answer (" + why.Error() + "); every `mfad unlock` tries it again",
		open: func(string) (*Store, error) { return open() }}
}

// Waiting says what a locked keyring waits for.
func (l *Lazy) Waiting() string { return l.waiting }

// Close forgets a keyring opened with a passphrase (`mfad lock --all`),
// and reports whether there was one: the next use needs the passphrase
// again. A keyring that needs none stays open.
func (l *Lazy) Close() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.retry != nil || l.store == nil {
		return false
	}
	l.store = nil
	return true
}

// NeedsPassphrase reports whether it waits for a passphrase, rather than
// for the keyring to answer.
func (l *Lazy) NeedsPassphrase() bool { return l.retry == nil }

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
	if l.store == nil && l.retry != nil {
		s, err := l.retry()
		if err != nil {
			return nil, err
		}
		l.store = s
	}
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

// PutKeys stores keys for profile.
func (l *Lazy) PutKeys(profile string, k Keys) error {
	s, err := l.opened()
	if err != nil {
		return err
	}
	return s.PutKeys(profile, k)
}

// RemoveKeys deletes the keys stored for profile.
func (l *Lazy) RemoveKeys(profile string) error {
	s, err := l.opened()
	if err != nil {
		return err
	}
	return s.RemoveKeys(profile)
}

// Profiles lists the profiles with keys stored.
func (l *Lazy) Profiles() ([]string, error) {
	s, err := l.opened()
	if err != nil {
		return nil, err
	}
	return s.Profiles()
}

// Backend names the backend, once open.
func (l *Lazy) Backend() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store == nil {
		return "file (locked)"
	}
	return l.store.Backend()
}

// Probe checks that the keyring answers within timeout: a Secret Service
// whose collection is locked at login, with no one to see its prompt, does
// not. The file keyring always answers. Call it before the store is
// shared: it sets the timeout for the one call.
func (s *Store) Probe(timeout time.Duration) error {
	if s.backend == string(keyring.FileBackend) {
		return nil
	}
	saved := s.timeout
	s.timeout = timeout
	defer func() { s.timeout = saved }()
	// Listing answers even while locked; reading or writing an item does
	// not, so one is read (or the check item written on a new keyring).
	return s.checkPassphrase()
}
