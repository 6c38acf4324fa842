package keystore

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOneKeyring runs with the real Secret Service up (gnome-keyring on a
// private D-Bus session): keys stored in the file keyring while no Secret
// Service answered are still found once one does, because the file
// keyring was recorded; migrate moves them, and the record follows.
func TestOneKeyring(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		data := os.Getenv("XDG_DATA_HOME")
		opts := Options{FileDir: filepath.Join(data, "keyring"), RecordFile: filepath.Join(data, "backend"),
			Passphrase: func(string) (string, error) { return "pw", nil }}
		// Stored while no Secret Service ran: forced to the file.
		forced := opts
		forced.Backend = "file"
		fileStoreOpen, err := Open(forced)
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := ParseKeys(testKeyID, testSecret)
		if err := fileStoreOpen.PutKeys("default", keys); err != nil {
			t.Fatal(err)
		}
		if got := RecordedBackend(opts.RecordFile); got != "file" {
			t.Fatalf("recorded %q", got)
		}
		if got := FileKeyringProfiles(opts); len(got) != 1 || got[0] != "default" {
			t.Fatalf("profiles in the file keyring, read without its passphrase: %v", got)
		}
		// Now the default opens the recorded one, not the Secret Service.
		s, err := Open(opts)
		if err != nil || s.Backend() != "file" {
			t.Fatalf("default with a record: %v %v", s, err)
		}
		if _, err := s.Keys("default"); err != nil {
			t.Fatalf("keys vanished: %v", err)
		}
		// Moved to the Secret Service: found there, gone from the file.
		to := opts
		to.Backend = "secret-service"
		dst, err := Open(to)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := Migrate(s, dst); err != nil || n < 2 {
			t.Fatalf("migrate: %d items, %v", n, err)
		}
		if got := RecordedBackend(opts.RecordFile); got != "secret-service" {
			t.Fatalf("recorded after migrate: %q", got)
		}
		after, err := Open(opts)
		if err != nil || after.Backend() != "secret-service" {
			t.Fatalf("default after migrate: %v %v", after, err)
		}
		if got, err := after.Keys("default"); err != nil || got.AccessKeyID != testKeyID {
			t.Fatalf("keys after migrate: %v", err)
		}
		if left, _ := fileStoreOpen.Profiles(); len(left) != 0 {
			t.Fatalf("keys left in the file keyring: %v", left)
		}
		if got := FileKeyringProfiles(opts); len(got) != 0 {
			t.Fatalf("the file keyring still lists %v", got)
		}
		return
	}
	runUnderSecretService(t, "TestOneKeyring")
}
