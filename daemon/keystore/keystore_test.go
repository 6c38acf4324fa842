package keystore

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func fileStore(t *testing.T, dir, passphrase string) *Store {
	t.Helper()
	s, err := Open(Options{Backend: "file", FileDir: dir, Passphrase: func(string) (string, error) { return passphrase, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// exercise runs the keystore's whole life against s.
func exercise(t *testing.T, s *Store) {
	t.Helper()
	keys, err := ParseKeys(" "+testKeyID+"\n", testSecret+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Keys("work"); kindOf(err) != ipc.KindNoKeys {
		t.Fatalf("keys before add: %v, want no_keys", err)
	}
	if err := s.PutKeys("work", keys); err != nil {
		t.Fatal(err)
	}
	if err := s.PutKeys("play", keys); err != nil {
		t.Fatal(err)
	}
	got, err := s.Keys("work")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != testKeyID || got.SecretAccessKey.Reveal() != testSecret {
		t.Fatalf("read back %s / wrong secret", got.AccessKeyID)
	}
	profiles, err := s.Profiles()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(profiles, ",") != "play,work" {
		t.Fatalf("profiles %v", profiles)
	}
	if err := s.RemoveKeys("work"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Keys("work"); kindOf(err) != ipc.KindNoKeys {
		t.Fatalf("keys after remove: %v", err)
	}
	if err := s.RemoveKeys("work"); kindOf(err) != ipc.KindNoKeys {
		t.Fatalf("second remove: %v", err)
	}
	if err := s.RemoveKeys("play"); err != nil {
		t.Fatal(err)
	}
}

func kindOf(err error) string {
	var e *ipc.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func TestFileBackend(t *testing.T) {
	dir := t.TempDir()
	s := fileStore(t, dir, "correct horse")
	exercise(t, s)

	keys, _ := ParseKeys(testKeyID, testSecret)
	if err := s.PutKeys("default", keys); err != nil {
		t.Fatal(err)
	}
	// Another process with the same passphrase reads them back.
	if got, err := fileStore(t, dir, "correct horse").Keys("default"); err != nil || got.AccessKeyID != testKeyID {
		t.Fatalf("reopened: %v", err)
	}
	// Nothing readable on disk, in the keyring or next to it.
	err := filepath.Walk(filepath.Dir(dir), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		if strings.Contains(string(data), testSecret) || strings.Contains(string(data), testKeyID) {
			t.Errorf("%s holds the key in plain text", p)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	_, err = fileStore(t, dir, "wrong").Keys("default")
	var e *ipc.Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "wrong passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func TestFileBackendWithoutPassphrase(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv(BackendEnv, "file")
	os.Unsetenv(PassphraseEnv)
	opts, err := EnvOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := ParseKeys(testKeyID, testSecret)
	err = s.PutKeys("default", keys)
	var e *ipc.Error
	if !errors.As(err, &e) || !strings.Contains(e.Hint, PassphraseEnv) {
		t.Fatalf("no passphrase: %v, want advice naming %s", err, PassphraseEnv)
	}

	t.Setenv(PassphraseEnv, "from env")
	opts, _ = EnvOptions(nil)
	if s, err = Open(opts); err != nil {
		t.Fatal(err)
	}
	if err := s.PutKeys("default", keys); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"keyring.v2", "keyring.v2.kdf"} {
		if _, err := os.Stat(filepath.Join(os.Getenv("XDG_DATA_HOME"), "mfad", name)); err != nil {
			t.Fatalf("file keyring not under the data directory: %v", err)
		}
	}
}

func TestUnknownBackend(t *testing.T) {
	_, err := Open(Options{Backend: "floppy"})
	var e *ipc.Error
	if !errors.As(err, &e) || !strings.Contains(e.Hint, "secret-service") {
		t.Fatalf("got %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	for _, tc := range []struct {
		id, secret, wantMsg string
	}{
		{"ASIAIOSFODNN7EXAMPLE", testSecret, "temporary session key"},
		{"AKIA123", testSecret, "does not look like an access key ID"},
		{"akiaiosfodnn7example", testSecret, "does not look like an access key ID"},
		{testKeyID, "short", "does not look like a secret access key"},
		{testKeyID, strings.Repeat("x", 39) + "!", "does not look like a secret access key"},
	} {
		_, err := ParseKeys(tc.id, tc.secret)
		if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("ParseKeys(%q, …) = %v, want %q", tc.id, err, tc.wantMsg)
		}
		if err != nil && strings.Contains(err.Error(), tc.secret) && len(tc.secret) > 8 {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}

// childEnv marks a test process started by runChild.
const childEnv = "MFAD_KEYSTORE_TEST_CHILD"

// runChild runs the test named name in a new process of this test binary,
// under prefix (a command that runs the rest of its arguments) and with env
// added. The keyring library looks for D-Bus when the process starts, so a
// test of the D-Bus backends needs a process started inside the bus.
func runChild(t *testing.T, name string, prefix []string, env ...string) {
	t.Helper()
	args := append(prefix, os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), append(env, childEnv+"=1")...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s in a child process: %v\n%s", name, err, out)
	}
}

// TestSecretService runs the keystore against the real Secret Service:
// gnome-keyring on a private D-Bus session, its login collection unlocked
// the way a desktop login does.
func TestSecretService(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		s, err := Open(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend() != "secret-service" {
			t.Fatalf("default backend with a Secret Service running: %s", s.Backend())
		}
		exercise(t, s)
		return
	}
	runUnderSecretService(t, "TestSecretService")
}

// runUnderSecretService runs test name in a child process beside the real
// Secret Service: gnome-keyring on a private D-Bus session, its login
// collection unlocked the way a desktop login does.
func runUnderSecretService(t *testing.T, name string) {
	t.Helper()
	requireSecretService(t)
	home := t.TempDir()
	script := `echo -n test-login-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"`
	runChild(t, name, []string{"dbus-run-session", "--", "sh", "-c", script, "sh"},
		"HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_RUNTIME_DIR="+home)
}

// TestFallbackToFile checks that without any reachable OS keyring the
// default is the encrypted file, not a failure.
func TestFallbackToFile(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		s, err := Open(Options{FileDir: t.TempDir(), Passphrase: func(string) (string, error) { return "pw", nil }})
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend() != "file" {
			t.Fatalf("default backend without D-Bus: %s", s.Backend())
		}
		exercise(t, s)
		return
	}
	runChild(t, "TestFallbackToFile", nil,
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "no-bus"), "XDG_RUNTIME_DIR="+t.TempDir())
}

func TestFileBackendRefusesSecondPassphrase(t *testing.T) {
	dir := t.TempDir()
	keys, _ := ParseKeys(testKeyID, testSecret)
	if err := fileStore(t, dir, "first").PutKeys("a", keys); err != nil {
		t.Fatal(err)
	}
	err := fileStore(t, dir, "typo").PutKeys("b", keys)
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("stored under a second passphrase: %v", err)
	}
	if p, _ := fileStore(t, dir, "first").Profiles(); len(p) != 1 {
		t.Fatalf("profiles %v, want only a", p)
	}
}

func TestNewFileKeyringConfirmsPassphrase(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv(BackendEnv, "file")
	os.Unsetenv(PassphraseEnv)
	answers := []string{"one", "two"}
	var prompts []string
	opts, _ := EnvOptions(func(prompt string) (string, error) {
		prompts = append(prompts, prompt)
		a := answers[0]
		answers = answers[1:]
		return a, nil
	})
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := ParseKeys(testKeyID, testSecret)
	if err := s.PutKeys("default", keys); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Fatalf("mismatched passphrases: %v", err)
	}
	if len(prompts) != 2 || !strings.Contains(prompts[1], "repeat") {
		t.Fatalf("prompts %q", prompts)
	}
}

func TestUnlockAsksOnceAndChecks(t *testing.T) {
	dir := t.TempDir()
	asked := 0
	open := func(passphrase string) *Store {
		s, err := Open(Options{Backend: "file", FileDir: dir, Passphrase: func(string) (string, error) {
			asked++
			return passphrase, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A new file keyring: Unlock asks, and nothing afterwards asks again.
	s := open("pw")
	if err := s.Unlock(); err != nil {
		t.Fatal(err)
	}
	keys, _ := ParseKeys(testKeyID, testSecret)
	if err := s.PutKeys("default", keys); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Keys("default"); err != nil {
		t.Fatal(err)
	}
	if asked != 1 {
		t.Fatalf("asked %d times, want once", asked)
	}
	// An existing one: a wrong passphrase is caught by Unlock.
	if err := open("wrong").Unlock(); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("Unlock with a wrong passphrase: %v", err)
	}
	if err := open("pw").Unlock(); err != nil {
		t.Fatal(err)
	}
}

// TestSecretServiceLocked runs against a Secret Service whose login
// collection was never unlocked, as after a login that did not pass the
// password to gnome-keyring, with no display for its prompt: a clear error
// within the timeout, never a hang.
func TestSecretServiceLocked(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		s, err := Open(Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// What the daemon asks at start, to know it must wait.
		if err := s.Probe(2 * time.Second); err == nil {
			t.Fatal("the probe found a locked keyring answering")
		}
		keys, _ := ParseKeys(testKeyID, testSecret)
		start := time.Now()
		err = s.PutKeys("default", keys)
		var e *ipc.Error
		if !errors.As(err, &e) || e.Kind != ipc.KindKeyring || !strings.Contains(e.Message, "secret-service") || !strings.Contains(e.Hint, BackendEnv+"=file") {
			t.Fatalf("PutKeys on a locked keyring: %v", err)
		}
		if _, err := s.Keys("default"); err == nil {
			t.Fatal("read from a locked keyring")
		}
		t.Logf("error after %s: %s (hint: %s)", time.Since(start), e.Message, e.Hint)
		return
	}
	requireSecretService(t)
	home := t.TempDir()
	script := `gnome-keyring-daemon --start --components=secrets >/dev/null && exec "$@"`
	runChild(t, "TestSecretServiceLocked", []string{"dbus-run-session", "--", "sh", "-c", script, "sh"},
		"HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_RUNTIME_DIR="+home, "DISPLAY=")
}

func requireSecretService(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for this test: install the dbus and gnome-keyring packages (.ci/test does)", tool)
		}
	}
}

func TestSessions(t *testing.T) {
	s := fileStore(t, t.TempDir(), "pw")
	exp := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	c := CachedSession{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: secret.New("session-secret"), SessionToken: secret.New("session-token"),
		Expiration: exp, ObtainedAt: exp.Add(-time.Hour), AccountID: "123456789012", MFASerial: "arn:aws:iam::123456789012:mfa/alice"}
	if err := s.PutSession("default", c); err != nil {
		t.Fatal(err)
	}
	keys, _ := ParseKeys(testKeyID, testSecret)
	if err := s.PutKeys("default", keys); err != nil {
		t.Fatal(err)
	}
	got, err := s.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	g := got["default"]
	if len(got) != 1 || g.AccessKeyID != c.AccessKeyID || g.SecretAccessKey.Reveal() != "session-secret" || g.SessionToken.Reveal() != "session-token" ||
		!g.Expiration.Equal(exp) || g.AccountID != c.AccountID || g.MFASerial != c.MFASerial {
		t.Fatalf("read back %+v", got)
	}
	if p, _ := s.Profiles(); len(p) != 1 {
		t.Fatalf("sessions listed as key profiles: %v", p)
	}
	if err := s.RemoveSession("default"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSession("default"); err != nil {
		t.Fatalf("removing a missing session: %v", err)
	}
	if got, _ := s.Sessions(); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
}
