// Package keystore keeps IAM users' long-term access keys in the operating
// system's keyring (github.com/99designs/keyring): the Secret Service on
// Linux desktops, the Keychain on macOS, the Credential Manager on Windows,
// and an encrypted file wherever none of those is reachable.
package keystore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/99designs/keyring"

	"github.com/mfad/mfad/daemon/keystore/busguard"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

// Environment variables that configure the keystore.
const (
	BackendEnv    = "MFAD_KEYRING_BACKEND"
	PassphraseEnv = "MFAD_FILE_PASSPHRASE"
)

const (
	serviceName = "mfad"
	// Items live in the Secret Service's login collection, which the
	// desktop unlocks at login: a collection of our own would ask for a
	// password of its own, and cannot be created without a prompter.
	secretServiceCollection = "login"
	keysPrefix              = "mfad/keys/"
	checkItem               = "mfad/passphrase-check"
	defaultTimeout          = 30 * time.Second
)

// Options choose and configure a backend.
type Options struct {
	// Backend is one of keyring's backend names ("file", "secret-service",
	// "keychain", "wincred", "pass", "kwallet", "keyctl"). Empty means the
	// operating system's own keyring, falling back to the file backend.
	Backend string
	// FileDir holds the file backend's encrypted files.
	FileDir string
	// RecordFile, if set, names the file that records which backend
	// holds mfad's keys (record.go): without Backend, Open opens that one.
	RecordFile string
	// Passphrase returns the file backend's passphrase. It is called at
	// most once, when the file backend first needs it.
	Passphrase func(prompt string) (string, error)
	// Timeout bounds each operation on a backend that could hang (a locked
	// Secret Service with no one to answer its prompt). Zero means 30s.
	Timeout time.Duration
}

// Store is a keyring holding access keys by profile name.
type Store struct {
	ring    keyring.Keyring
	backend string
	timeout time.Duration
	// recordFile records the backend that holds the keys (record.go).
	recordFile string
	// migrate moves a file keyring to the scrypt layout once its
	// passphrase is checked (kdf.go); nil when there is nothing to move.
	migrate func(keyring.Keyring) (keyring.Keyring, error)
}

// Backend names the keyring backend in use.
func (s *Store) Backend() string { return s.backend }

// defaultBackends are tried in order when no backend is chosen. keyctl and
// pass are left out: the kernel keyring forgets everything at reboot, and
// pass needs a GnuPG set-up that its presence does not prove.
func defaultBackends() []keyring.BackendType {
	switch runtime.GOOS {
	case "darwin":
		return []keyring.BackendType{keyring.KeychainBackend, keyring.FileBackend}
	case "windows":
		return []keyring.BackendType{keyring.WinCredBackend, keyring.FileBackend}
	default:
		return []keyring.BackendType{keyring.SecretServiceBackend, keyring.KWalletBackend, keyring.FileBackend}
	}
}

// Open opens the chosen backend, or the first default one that answers.
func Open(opts Options) (*Store, error) {
	candidates := defaultBackends()
	if opts.Backend != "" {
		b := keyring.BackendType(opts.Backend)
		if !slices.Contains(knownBackends, b) {
			return nil, ipc.NewError(ipc.KindKeyring,
				fmt.Sprintf("unknown keyring backend %q", opts.Backend),
				"set "+BackendEnv+" to one of: "+strings.Join(backendNames(), ", "))
		}
		candidates = []keyring.BackendType{b}
	} else if recorded := RecordedBackend(opts.RecordFile); recorded != "" {
		if !slices.Contains(knownBackends, keyring.BackendType(recorded)) {
			return nil, ipc.NewError(ipc.KindKeyring, "unknown keyring backend "+recorded+" recorded in "+opts.RecordFile,
				"fix or remove that file")
		}
		candidates = []keyring.BackendType{keyring.BackendType(recorded)}
	} else if l := layoutOf(opts.FileDir); opts.FileDir != "" && (l.current() || l.hasOld()) {
		// No record (an mfad from before it kept one), and a file
		// keyring: mfad made it because no other keyring answered, so
		// the keys are there, whatever answers now.
		candidates = []keyring.BackendType{keyring.FileBackend}
	}
	if opts.Timeout == 0 {
		opts.Timeout = defaultTimeout
	}
	cfg := keyring.Config{
		ServiceName:             serviceName,
		LibSecretCollectionName: secretServiceCollection,
		KWalletAppID:            serviceName,
		KWalletFolder:           serviceName,
		KeychainName:            "login",
		FileDir:                 opts.FileDir,
		FilePasswordFunc:        keyring.PromptFunc(opts.Passphrase),
		PassPrefix:              serviceName,
		WinCredPrefix:           serviceName,
		KeyCtlScope:             "user",
	}
	var failures []string
	for _, b := range candidates {
		cfg.AllowedBackends = []keyring.BackendType{b}
		var migrate func(keyring.Keyring) (keyring.Keyring, error)
		if b == keyring.FileBackend {
			var err error
			if migrate, err = fileConfig(&cfg, opts); err != nil {
				failures = append(failures, fmt.Sprintf("%s: %v", b, err))
				continue
			}
		}
		ring, err := keyring.Open(cfg)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", b, err))
			continue
		}
		timeout := opts.Timeout
		if b == keyring.FileBackend {
			// Files cannot hang, and the passphrase prompt waits on
			// the user on purpose.
			timeout = 0
		}
		return &Store{ring: ring, backend: string(b), timeout: timeout, migrate: migrate, recordFile: opts.RecordFile}, nil
	}
	msg := "no keyring backend is available"
	if len(failures) > 0 {
		msg += " (" + strings.Join(failures, "; ") + ")"
	}
	if recorded := RecordedBackend(opts.RecordFile); recorded != "" && opts.Backend == "" {
		return nil, ipc.NewError(ipc.KindKeyring, "the "+recorded+" keyring, which holds mfad's keys ("+opts.RecordFile+"), is not available"+" ("+strings.Join(failures, "; ")+")",
			"make it available (unlock it, log in to the desktop), or move the keys with `mfad keyring migrate --to BACKEND` from where it is")
	}
	return nil, ipc.NewError(ipc.KindKeyring, msg, "set "+BackendEnv+"=file to keep keys in an encrypted file")
}

// Unlock obtains now whatever the store would otherwise ask for later, and
// checks it: for the file backend, the passphrase. On an existing file
// keyring it is tried on an item there; a new one gets a check item, so
// that every later passphrase is tried against the first. A daemon calls
// Unlock at start, while it still has a terminal; PutKeys calls it before
// encrypting anything, so no key is ever stored under a mistyped passphrase.
func (s *Store) Unlock() error {
	if s.backend != string(keyring.FileBackend) {
		return nil
	}
	if err := s.checkPassphrase(); err != nil {
		return err
	}
	if s.migrate != nil {
		ring, err := s.migrate(s.ring)
		if err != nil {
			return ipc.NewError(ipc.KindKeyring, "failed to move the encrypted key file to scrypt: "+err.Error()+"; the keys are still in the old file",
				"run the command again; report it if it keeps failing")
		}
		s.ring, s.migrate = ring, nil
	}
	return nil
}

// checkPassphrase tries the file keyring's passphrase on an item there, or
// on a new keyring writes the check item. Called by Unlock.
func (s *Store) checkPassphrase() error {
	var names []string
	err := s.do(func() (err error) {
		names, err = s.ring.Keys()
		return err
	})
	if err != nil {
		return s.wrap("open the keyring", err)
	}
	for _, n := range names {
		if n == checkItem || strings.HasPrefix(n, keysPrefix) {
			err := s.do(func() error { _, err := s.ring.Get(n); return err })
			return s.wrap("open the keyring", err)
		}
	}
	err = s.do(func() error {
		return s.ring.Set(keyring.Item{Key: checkItem, Label: "mfad: keyring check", Data: []byte("mfad")})
	})
	return s.wrap("write to the keyring", err)
}

var knownBackends = []keyring.BackendType{
	keyring.FileBackend, keyring.SecretServiceBackend, keyring.KeychainBackend, keyring.WinCredBackend,
	keyring.PassBackend, keyring.KWalletBackend, keyring.KeyCtlBackend,
}

func backendNames() []string {
	names := make([]string, len(knownBackends))
	for i, b := range knownBackends {
		names[i] = string(b)
	}
	return names
}

// storedKeys is how Keys are encoded in a keyring item.
type storedKeys struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// PutKeys stores keys for profile, replacing any there were.
func (s *Store) PutKeys(profile string, k Keys) error {
	if err := s.Unlock(); err != nil {
		return err
	}
	data, err := json.Marshal(storedKeys{k.AccessKeyID, k.SecretAccessKey.Reveal()})
	if err != nil {
		return err
	}
	item := keyring.Item{
		Key:                         keysPrefix + profile,
		Data:                        data,
		Label:                       "mfad: AWS access key for profile " + profile,
		Description:                 "AWS access key " + secret.MaskKeyID(k.AccessKeyID),
		KeychainNotTrustApplication: false,
	}
	if err := s.do(func() error { return s.ring.Set(item) }); err != nil {
		return s.wrap("store keys for profile "+profile, err)
	}
	return s.record()
}

// Keys returns the keys stored for profile. An *ipc.Error of kind
// ipc.KindNoKeys reports that there are none.
func (s *Store) Keys(profile string) (Keys, error) {
	var item keyring.Item
	err := s.do(func() (err error) {
		item, err = s.ring.Get(keysPrefix + profile)
		return err
	})
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return Keys{}, NoKeysError(profile)
	}
	if err != nil {
		return Keys{}, s.wrap("read keys for profile "+profile, err)
	}
	var sk storedKeys
	if err := json.Unmarshal(item.Data, &sk); err != nil || sk.AccessKeyID == "" {
		return Keys{}, ipc.NewError(ipc.KindKeyring,
			"the keyring entry for profile "+profile+" is not readable by this version of mfad",
			"store the keys again with `mfad add --force "+profile+"`")
	}
	return Keys{AccessKeyID: sk.AccessKeyID, SecretAccessKey: secret.New(sk.SecretAccessKey)}, nil
}

// NoKeysError reports that no keys are stored for profile.
func NoKeysError(profile string) *ipc.Error {
	return ipc.NewError(ipc.KindNoKeys, "no access key is stored for profile "+profile,
		"store the IAM user's access key with `mfad add "+profile+"`")
}

// RemoveKeys deletes the keys stored for profile.
func (s *Store) RemoveKeys(profile string) error {
	// Some backends report success for a missing item; look first, so
	// that removing a profile that has no keys says so everywhere.
	err := s.do(func() error {
		if _, err := s.ring.Get(keysPrefix + profile); err != nil {
			return err
		}
		return s.ring.Remove(keysPrefix + profile)
	})
	if errors.Is(err, keyring.ErrKeyNotFound) || errors.Is(err, os.ErrNotExist) {
		return NoKeysError(profile)
	}
	return s.wrap("remove keys for profile "+profile, err)
}

// Profiles lists the profiles that have keys stored, sorted.
func (s *Store) Profiles() ([]string, error) {
	var names []string
	err := s.do(func() (err error) {
		names, err = s.ring.Keys()
		return err
	})
	if err != nil {
		return nil, s.wrap("list stored keys", err)
	}
	var profiles []string
	for _, n := range names {
		if p, ok := strings.CutPrefix(n, keysPrefix); ok {
			profiles = append(profiles, p)
		}
	}
	slices.Sort(profiles)
	return profiles, nil
}

// do runs op, giving up after the store's timeout. The keyring libraries
// take no context, so an operation that hangs is abandoned, not stopped.
func (s *Store) do(op func() error) error {
	if s.timeout == 0 {
		return op()
	}
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-time.After(s.timeout):
		return errTimeout
	}
}

var errTimeout = errors.New("timed out")

// wrap turns a backend failure into advice.
func (s *Store) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var e *ipc.Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, errTimeout):
		return ipc.NewError(ipc.KindKeyring,
			fmt.Sprintf("failed to %s: the %s keyring did not answer within %s; it may be locked and waiting for a prompt no one can see", what, s.backend, s.timeout),
			"unlock the keyring (log in to the desktop session), or set "+BackendEnv+"=file")
	case errors.Is(err, errDamagedItem):
		return ipc.NewError(ipc.KindKeyring, "failed to "+what+": "+err.Error(),
			"restore the encrypted key file's directory from a backup, or move it away and store the keys again with `mfad add`")
	case s.backend == string(keyring.FileBackend) && strings.Contains(err.Error(), "aes.KeyUnwrap"):
		return ipc.NewError(ipc.KindKeyring,
			"failed to "+what+": wrong passphrase for the encrypted key file",
			"enter the passphrase the keys were stored with (or set "+PassphraseEnv+")")
	}
	return ipc.NewError(ipc.KindKeyring, fmt.Sprintf("failed to %s in the %s keyring: %v", what, s.backend, err),
		"make sure the keyring is unlocked (a desktop login unlocks it), or set "+BackendEnv+"=file to keep keys in an encrypted file")
}

// DataDir is where mfad keeps files of its own: the file keyring.
func DataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "mfad"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Application Support", "mfad"), nil
	case "windows":
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "mfad"), nil
		}
	}
	return filepath.Join(home, ".local", "share", "mfad"), nil
}

// EnvOptions returns the Options the environment asks for: the backend in
// MFAD_KEYRING_BACKEND, the file backend's files under DataDir, and its
// passphrase from MFAD_FILE_PASSPHRASE or else from ask. ask may be nil when
// there is no one to ask.
func EnvOptions(ask func(prompt string) (string, error)) (Options, error) {
	dir, err := DataDir()
	if err != nil {
		return Options{}, fmt.Errorf("failed to find a data directory for the file keyring: %w", err)
	}
	fileDir := filepath.Join(dir, "keyring")
	passphrase := func(string) (string, error) {
		if p, ok := os.LookupEnv(PassphraseEnv); ok {
			if p == "" {
				return "", ipc.NewError(ipc.KindKeyring, PassphraseEnv+" is set but empty",
					"set it to the passphrase, or unset it to be asked; an empty passphrase protects nothing")
			}
			return p, nil
		}
		if ask == nil {
			return "", ipc.NewError(ipc.KindKeyringLocked,
				"the encrypted key file in "+fileDir+" needs its passphrase, and there is no terminal to ask on",
				"run the command in a terminal, or set "+PassphraseEnv+" (the weaker choice: a secret in the environment)")
		}
		l := layoutOf(fileDir)
		switch {
		case l.current():
			return ask("passphrase for the encrypted keys in " + l.dir)
		case l.hasOld():
			return ask("passphrase for the encrypted keys in " + fileDir)
		}
		// A new file keyring: a typo now would lock the keys away for good.
		first, err := ask("choose a passphrase to encrypt keys in " + layoutOf(fileDir).dir)
		if err != nil {
			return "", err
		}
		if first == "" {
			return "", ipc.NewError(ipc.KindKeyring, "the passphrase is empty", "choose a passphrase that protects the keys")
		}
		again, err := ask("repeat the passphrase")
		if err != nil {
			return "", err
		}
		if again != first {
			return "", ipc.NewError(ipc.KindKeyring, "the two passphrases differ; nothing was stored", "run the command again")
		}
		return first, nil
	}
	return Options{Backend: os.Getenv(BackendEnv), FileDir: fileDir, Passphrase: passphrase, RecordFile: filepath.Join(dir, "backend")}, nil
}

// The keyring library's initialisation, which looks for a session bus, is
// over (this package imports it): the environment goes back as it was.
func init() { busguard.Restore() }
