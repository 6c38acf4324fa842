package keystore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	// The test binary is the derivation child of TestDeriveInChild, as
	// mfad is the daemon's.
	if len(os.Args) == 2 && os.Args[1] == DeriveCommand {
		if err := ServeDerivation(os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// TestDeriveInChild: a file keyring written with the key derived in this
// process opens with the key derived in a child, and the other way round;
// a wrong passphrase still fails; a child that answers nothing is an
// error, not an empty key.
func TestDeriveInChild(t *testing.T) {
	inProcess := scryptKey
	t.Cleanup(func() { scryptKey = inProcess })
	dir := t.TempDir()
	s := fileStore(t, dir, "correct horse")
	keys, _ := ParseKeys(testKeyID, testSecret)
	if err := s.PutKeys("default", keys); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	DeriveInChild(self)
	again := fileStore(t, dir, "correct horse")
	if got, err := again.Keys("default"); err != nil || got.AccessKeyID != testKeyID {
		t.Fatalf("opened with the child's key: %+v, %v", got, err)
	}
	wrong, err := Open(Options{Backend: "file", FileDir: dir, Passphrase: func(string) (string, error) { return "wrong", nil }})
	if err == nil {
		if _, err = wrong.Keys("default"); err == nil {
			t.Fatal("a wrong passphrase opened the keyring")
		}
	}
	DeriveInChild("/bin/true")
	if _, err := kdfParamsForTest().stretch("x"); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("a child that answered nothing: %v", err)
	}
	DeriveInChild("/bin/false")
	if _, err := kdfParamsForTest().stretch("x"); err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("a child that failed: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "mfad")
	DeriveInChild(missing)
	if _, err := kdfParamsForTest().stretch("x"); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("no child to run: %v", err)
	}
}

func kdfParamsForTest() kdfParams { return newKDFParams() }
