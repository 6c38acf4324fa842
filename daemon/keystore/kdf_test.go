package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"

	"github.com/mfad/mfad/ipc"
)

// oldKeyring writes a keyring as mfad did before scrypt: the file backend
// given the passphrase as is.
func oldKeyring(t *testing.T, dir, passphrase string, items ...keyring.Item) {
	t.Helper()
	ring, err := keyring.Open(keyring.Config{ServiceName: serviceName, AllowedBackends: []keyring.BackendType{keyring.FileBackend},
		FileDir: dir, FilePasswordFunc: keyring.FixedStringPrompt(passphrase)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := ring.Set(it); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOldKeyringMoves: a keyring of mfad before scrypt is moved to the
// stretched layout the first time its passphrase is checked, keeping every
// item; a wrong passphrase moves nothing; the passphrase as is no longer
// opens the files.
func TestOldKeyringMoves(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keyring")
	keys, _ := ParseKeys(testKeyID, testSecret)
	oldKeyring(t, dir, "old passphrase",
		keyring.Item{Key: keysPrefix + "default", Data: []byte(`{"access_key_id":"` + testKeyID + `","secret_access_key":"` + testSecret + `"}`)},
		keyring.Item{Key: sessionsPrefix + "default", Data: []byte(`{"access_key_id":"ASIAEXAMPLE","expiration":"2999-01-01T00:00:00Z"}`)})
	l := layoutOf(dir)

	if err := fileStore(t, dir, "wrong").Unlock(); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if l.current() || !l.hasOld() {
		t.Fatal("a wrong passphrase moved the keyring")
	}

	s := fileStore(t, dir, "old passphrase")
	if err := s.Unlock(); err != nil {
		t.Fatal(err)
	}
	if !l.current() || l.hasOld() {
		t.Fatalf("not moved: current %v, old left %v", l.current(), l.hasOld())
	}
	// The same store goes on working, and a new one opens the new files.
	for _, st := range []*Store{s, fileStore(t, dir, "old passphrase")} {
		got, err := st.Keys("default")
		if err != nil || got.AccessKeyID != keys.AccessKeyID || got.SecretAccessKey.Reveal() != testSecret {
			t.Fatalf("keys after the move: %v", err)
		}
		if sessions, err := st.Sessions(); err != nil || sessions["default"].AccessKeyID != "ASIAEXAMPLE" {
			t.Fatalf("sessions after the move: %v %v", sessions, err)
		}
	}
	params, err := readKDFParams(l.params)
	if err != nil || params.KDF != "scrypt" || params.N != scryptN || len(params.Salt) != saltLen {
		t.Fatalf("kdf parameters %+v, %v", params, err)
	}
	raw, _ := keyring.Open(keyring.Config{ServiceName: serviceName, AllowedBackends: []keyring.BackendType{keyring.FileBackend},
		FileDir: l.dir, FilePasswordFunc: keyring.FixedStringPrompt("old passphrase")})
	if _, err := raw.Get(keysPrefix + "default"); err == nil {
		t.Fatal("the passphrase as is opens the new files: they are not under the stretched key")
	}
}

// TestMoveStoppedHalfWay: a migration that stopped before its rename
// leaves the old keyring in use, and the next open moves it.
func TestMoveStoppedHalfWay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keyring")
	oldKeyring(t, dir, "pw", keyring.Item{Key: checkItem, Data: []byte("mfad")})
	l := layoutOf(dir)
	// What a stop after writing the parameters and the copy leaves.
	if err := writeKDFParams(l.params, newKDFParams()); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(l.dir+".tmp", 0o700)
	if err := fileStore(t, dir, "pw").Unlock(); err != nil {
		t.Fatal(err)
	}
	if !l.current() || l.hasOld() {
		t.Fatal("not moved on the next open")
	}
	if err := fileStore(t, dir, "pw").Unlock(); err != nil {
		t.Fatalf("reopen: %v", err)
	}
}

func TestEmptyPassphraseRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keyring")
	err := fileStore(t, dir, "").Unlock()
	var e *ipc.Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "passphrase of the encrypted key file is empty") {
		t.Fatalf("empty passphrase: %v", err)
	}
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv(PassphraseEnv, "")
	opts, _ := EnvOptions(nil)
	s, err := Open(opts)
	if err == nil {
		keys, _ := ParseKeys(testKeyID, testSecret)
		err = s.PutKeys("default", keys)
	}
	if !errors.As(err, &e) || !strings.Contains(e.Message, PassphraseEnv+" is set but empty") {
		t.Fatalf("empty %s: %v", PassphraseEnv, err)
	}
}

// BenchmarkStretch measures one scrypt derivation at mfad's cost: what
// each process that opens the file keyring pays once, and an attacker
// pays per guess.
func BenchmarkStretch(b *testing.B) {
	p := newKDFParams()
	start := time.Now()
	for b.Loop() {
		if _, err := p.stretch("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/derivation")
}
