package keystore

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/99designs/keyring"

	"github.com/mfad/mfad/daemon/privatefile"
	"github.com/mfad/mfad/ipc"
)

// The file backend (99designs/keyring) encrypts each item with a key it
// derives from the password it is given by PBES2 with 8192 iterations of
// HMAC-SHA256: cheap to try by the billion if a backup of the files leaks.
// mfad gives it no passphrase but a key stretched from it with scrypt, a
// memory-hard KDF, whose parameters and salt sit next to the files.
//
// Layout under the data directory:
//
//	keyring/          files of mfad before scrypt: the passphrase as is
//	keyring.v2/       the files, under the scrypt-stretched key
//	keyring.v2.kdf    {"kdf":"scrypt","n":..,"r":..,"p":..,"salt":..}
//
// A keyring found in the old layout is moved to the new one once its
// passphrase has been checked: every item copied, read back and compared,
// then made the keyring by one rename (see migrate), and the old files
// removed. Nothing is lost if it stops half-way: the old files stay until
// the new ones are in place, and are used until then.

// The scrypt cost: 2^15 × 8 × 128 bytes = 32 MiB and about 90 ms per
// derivation on the 2-core test machine (BenchmarkStretch), once per
// process that opens the keyring; an attacker pays as much per guess.
// RFC 7914's and the scrypt paper's figure for interactive use.
const (
	scryptN      = 1 << 15
	scryptR      = 8
	scryptP      = 1
	scryptKeyLen = 32
	saltLen      = 16
)

// kdfParams is keyring.v2.kdf.
type kdfParams struct {
	KDF  string `json:"kdf"`
	N    int    `json:"n"`
	R    int    `json:"r"`
	P    int    `json:"p"`
	Salt []byte `json:"salt"`
}

func newKDFParams() kdfParams {
	p := kdfParams{KDF: "scrypt", N: scryptN, R: scryptR, P: scryptP, Salt: make([]byte, saltLen)}
	if _, err := rand.Read(p.Salt); err != nil {
		panic("mfad: no randomness: " + err.Error())
	}
	return p
}

// stretch derives the file backend's password from the passphrase.
func (p kdfParams) stretch(passphrase string) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	key, err := scryptKey([]byte(passphrase), p)
	if err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(key), nil
}

// check refuses parameters mfad did not write: an unknown function, or
// costs that a tampered file could set to nothing or to more memory than
// the machine has.
func (p kdfParams) check() error {
	if p.KDF != "scrypt" || p.N < 2 || p.R < 1 || p.P < 1 || len(p.Salt) < saltLen {
		return fmt.Errorf("unknown key derivation %q", p.KDF)
	}
	if p.N > 1<<20 || p.R > 32 || p.P > 16 {
		return fmt.Errorf("key derivation costs out of range (n=%d, r=%d, p=%d)", p.N, p.R, p.P)
	}
	return nil
}

func readKDFParams(path string) (kdfParams, error) {
	var p kdfParams
	data, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func writeKDFParams(path string, p kdfParams) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return privatefile.Write(path, data)
}

// fileLayout names the file keyring's paths, from the old directory.
type fileLayout struct{ old, dir, params string }

func layoutOf(oldDir string) fileLayout {
	return fileLayout{old: oldDir, dir: oldDir + ".v2", params: oldDir + ".v2.kdf"}
}

// current reports whether the keyring is in the new layout. Files left in
// the old place then (a migration that stopped before removing them) are
// left alone: they are a copy, and deleting on a guess could lose keys.
func (l fileLayout) current() bool {
	if _, err := os.Stat(l.params); err != nil {
		return false
	}
	_, err := os.Stat(l.dir)
	return err == nil
}

// hasOld reports whether the old layout holds any item.
func (l fileLayout) hasOld() bool {
	entries, err := os.ReadDir(l.old)
	return err == nil && len(entries) > 0
}

// nonEmptyPassphrase refuses an empty passphrase, wherever it came from.
func nonEmptyPassphrase(p string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", ipc.NewError(ipc.KindKeyring, "the passphrase of the encrypted key file is empty",
			"type the passphrase, or set "+PassphraseEnv+" to it; an empty one protects nothing")
	}
	return p, nil
}

// fileConfig points cfg at the file keyring in its current layout, and
// returns a function that migrates it from the old one, or nil.
func fileConfig(cfg *keyring.Config, opts Options) (migrate func(ring keyring.Keyring) (keyring.Keyring, error), err error) {
	l := layoutOf(opts.FileDir)
	var passphrase string
	ask := func(prompt string) (string, error) {
		if passphrase != "" {
			return passphrase, nil
		}
		p, err := nonEmptyPassphrase(opts.Passphrase(prompt))
		passphrase = p
		return p, err
	}
	if l.current() || !l.hasOld() {
		cfg.FileDir = l.dir
		cfg.FilePasswordFunc = func(prompt string) (string, error) {
			p, err := ask(prompt)
			if err != nil {
				return "", err
			}
			params, err := readKDFParams(l.params)
			if errors.Is(err, fs.ErrNotExist) {
				// A new keyring, its passphrase just chosen.
				params = newKDFParams()
				if err := os.MkdirAll(l.dir, 0o700); err != nil {
					return "", err
				}
				err = writeKDFParams(l.params, params)
			}
			if err != nil {
				return "", err
			}
			return params.stretch(p)
		}
		return nil, nil
	}
	// The old layout: opened with the passphrase as is, then moved.
	cfg.FileDir = l.old
	cfg.FilePasswordFunc = ask
	return func(ring keyring.Keyring) (keyring.Keyring, error) { return l.migrate(ring, *cfg, passphrase) }, nil
}

// migrate copies every item of the old keyring ring into a new one under
// the stretched key, reads each back, and only then makes it the keyring:
// the parameters first, then the directory by one rename. It runs after
// the passphrase has been checked against the old files. It returns the
// keyring in its new place.
func (l fileLayout) migrate(ring keyring.Keyring, cfg keyring.Config, passphrase string) (keyring.Keyring, error) {
	names, err := ring.Keys()
	if err != nil {
		return nil, err
	}
	params := newKDFParams()
	password, err := params.stretch(passphrase)
	if err != nil {
		return nil, err
	}
	tmp := l.dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	cfg.FilePasswordFunc = keyring.FixedStringPrompt(password)
	cfg.AllowedBackends = []keyring.BackendType{keyring.FileBackend}
	open := func(dir string) (keyring.Keyring, error) {
		cfg.FileDir = dir
		return keyring.Open(cfg)
	}
	fresh, err := open(tmp)
	if err != nil {
		return nil, err
	}
	items := map[string]keyring.Item{}
	for _, name := range names {
		item, err := ring.Get(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if err := fresh.Set(item); err != nil {
			return nil, fmt.Errorf("copy %s: %w", name, err)
		}
		items[name] = item
	}
	for name, item := range items {
		back, err := fresh.Get(name)
		if err != nil || string(back.Data) != string(item.Data) {
			return nil, fmt.Errorf("the copy of %s does not read back: %v", name, err)
		}
	}
	if err := writeKDFParams(l.params, params); err != nil {
		return nil, err
	}
	os.RemoveAll(l.dir) // a copy from a migration that stopped before its rename
	if err := os.Rename(tmp, l.dir); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(l.old); err != nil {
		return nil, err
	}
	return open(l.dir)
}

// FileKeyring names the file keyring's directory, for messages.
func (o Options) FileKeyring() string {
	l := layoutOf(o.FileDir)
	if !l.current() && l.hasOld() {
		return l.old
	}
	return l.dir
}
