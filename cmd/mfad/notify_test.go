//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockedRequestNotifiesAndRunsMFAProcess: a program asks while the
// profile is locked. The daemon answers at once (locked), shows a desktop
// notice (the rate limit is tested in the daemon package), and runs the profile's
// mfa_process (here oathtool with the device's seed), whose code unlocks
// the session for the next request.
func TestLockedRequestNotifiesAndRunsMFAProcess(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	bin := filepath.Join(w.home, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	shown := filepath.Join(w.home, "notifications")
	// Both children say whether they were handed the passphrase.
	leaked := filepath.Join(w.home, "leaked")
	writeFile(t, filepath.Join(bin, "notify-send"), "#!/bin/sh\nenv | grep MFAD_FILE_PASSPHRASE >> "+leaked+"\nprintf '%s|' \"$@\" >> "+shown+"\necho >> "+shown+"\n")
	if err := os.Chmod(filepath.Join(bin, "notify-send"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, kv := range w.env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			w.env[i] = "PATH=" + bin + ":" + p
		}
	}
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Fatalf("oathtool is needed (Debian oathtool; .ci/install-deps installs it): %v", err)
	}
	writeFile(t, filepath.Join(w.home, "aws-config"), "[default]\nregion = eu-west-1\nmfa_serial = "+w.user.MFASerial+
		"\nmfa_process = (env | grep MFAD_FILE_PASSPHRASE >> "+leaked+" || true) && oathtool --totp -b "+w.user.Seed+"\n")

	d, logs := w.serveLogged("--log-level", "debug")
	// Asked while the daemon still opens its file keyring, the request
	// would wait for that (daemon.restoreWait), the SDK would give up on
	// it after half a second and ask again, and on a machine slow enough
	// mfa_process would have unlocked by then: the first answer this test
	// is about is the one given at once.
	logs.waitFor(t, `msg="keyring opened with the passphrase from the environment"`)
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("first request: %v, want locked", err)
	}
	logs.waitFor(t, `msg="unlocked by mfa_process" profile=default`)
	key, _, _, _, err := w.sdkCredentials(d.endpoint)
	if err != nil || key != w.sts.Issued()[0].AccessKeyID {
		t.Fatalf("after mfa_process: %s, %v", key, err)
	}
	if n := len(w.sts.Calls()); n != 1 {
		t.Fatalf("mfa_process ran %d unlocks, want 1", n)
	}
	logs.waitFor(t, `title="AWS credentials requested"`)
	d.stop(t)
	data, _ := os.ReadFile(shown)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "--app-name=mfad|AWS credentials requested|") || !strings.Contains(lines[0], "mfad unlock") {
		t.Fatalf("notifications shown:\n%s", data)
	}
	if strings.Contains(logs.String(), w.user.Seed) {
		t.Fatal("the daemon logged the seed in mfa_process")
	}
	if data, err := os.ReadFile(leaked); err == nil && len(data) > 0 {
		t.Fatalf("the daemon handed its passphrase to a child:\n%s", data)
	}
}
