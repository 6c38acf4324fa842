//go:build linux

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/ipc"
)

// TestRestartFindsSessionsInTheKernel: a restarted daemon serves the
// session it had at once, from the kernel's keyring, even when its own
// keyring waits for a passphrase nobody has given it yet; a second
// daemon of the same user with state of its own (another login, a test
// beside the user's mfad) does not see it; `mfad lock` takes it out of
// the kernel's keyring too; and the passphrase in the environment opens
// the file keyring in the background: a session the kernel's keyring no
// longer holds (as after a reboot) comes back from the file; `mfad remove`
// takes the kernel's copy too, daemon or not.
func TestRestartFindsSessionsInTheKernel(t *testing.T) {
	w, issued := unlockedThenKilled(t)
	withoutPassphrase := func(cmd *exec.Cmd) {
		cmd.Env = slices.DeleteFunc(slices.Clone(cmd.Env), func(v string) bool { return strings.HasPrefix(v, "MFAD_FILE_PASSPHRASE=") })
	}
	if !kernelKeyringsWork(t) {
		// A container whose seccomp profile refuses keyctl: mfad must go
		// on with its keyring alone, and that is what is checked here
		// instead. CI's machine allows keyctl: there this must not happen.
		if os.Getenv("CI") != "" {
			t.Fatal("the kernel's keyrings are refused on the CI machine: run it without a seccomp profile that blocks keyctl")
		}
		t.Log("the kernel's keyrings are refused here: checking that restarts fall back to the keyring")
		d, logs := w.serveWith(withoutPassphrase)
		if _, _, _, _, err := w.sdkCredentials(d.endpoint); err == nil || !strings.Contains(err.Error(), "locked") {
			t.Fatalf("served without a keyring to restore from: %v\n%s", err, logs)
		}
		d.stop(t)
		d, logs = w.serveLogged()
		if key, _, _, _, err := w.sdkCredentials(d.endpoint); err != nil || key != issued.AccessKeyID {
			t.Fatalf("not restored from the keyring: %s, %v\n%s", key, err, logs)
		}
		return
	}
	d, logs := w.serveWith(withoutPassphrase)
	key, _, token, _, err := w.sdkCredentials(d.endpoint)
	if err != nil || key != issued.AccessKeyID || token != issued.SessionToken {
		t.Fatalf("restarted without the keyring's passphrase: %s, %v\n%s", key, err, logs)
	}
	if !strings.Contains(logs.String(), "restored sessions from the kernel's keyring") {
		t.Fatalf("not from the kernel's keyring:\n%s", logs)
	}
	if st := w.mustMfad("status"); !strings.Contains(st, "waits for its passphrase") && !strings.Contains(st, "passphrase") {
		t.Fatalf("status does not say the keyring waits:\n%s", st)
	}
	d.stop(t)

	// Another daemon of the same user, its state elsewhere.
	other := newWorld(t)
	other.addKeys()
	od := other.serve()
	if _, _, _, _, err := other.sdkCredentials(od.endpoint); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("another daemon served this one's session: %v", err)
	}
	od.stop(t)

	// Gone from the kernel's keyring (as after a reboot) but kept in the
	// file: the passphrase in the environment brings it back.
	d = w.serve()
	w.mustMfad("lock")
	w.mustMfad("unlock", "--code", w.freshCode())
	second := w.sts.Issued()[1]
	d.stop(t)
	forgetKernelSessions(t, w)
	d, logs = w.serveLogged()
	key, _, _, _, err = w.sdkCredentials(d.endpoint)
	if err != nil || key != second.AccessKeyID {
		t.Fatalf("after the kernel's keyring lost it: %s, %v\n%s", key, err, logs)
	}
	if !strings.Contains(logs.String(), "restored sessions from the keyring") {
		t.Fatalf("not from the file keyring:\n%s", logs)
	}

	// Locked: no copy anywhere brings it back.
	w.mustMfad("lock")
	d.stop(t)
	d, logs = w.serveWith(withoutPassphrase)
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a locked session came back: %v\n%s", err, logs)
	}

	// mfad remove while no daemon runs: the kernel's copy goes too.
	d.stop(t)
	d = w.serve()
	w.mustMfad("unlock", "--code", w.freshCode())
	d.stop(t)
	w.mustMfad("remove", "--yes", "default")
	_, logs = w.serveWith(withoutPassphrase)
	if strings.Contains(logs.String(), "restored") {
		t.Fatalf("the session of a removed key came back:\n%s", logs)
	}
}

// forgetKernelSessions drops w's sessions from the kernel's keyring, and
// nothing else there.
func forgetKernelSessions(t *testing.T, w *world) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(w.home, "run"))
	kernel := keystore.NewKernelSessions(filepath.Dir(ipc.DefaultSocketPath()))
	kept, err := kernel.Sessions()
	if err != nil || len(kept) == 0 {
		t.Fatalf("the kernel's keyring holds %d sessions of this daemon: %v", len(kept), err)
	}
	for profile := range kept {
		if err := kernel.RemoveSession(profile); err != nil {
			t.Fatal(err)
		}
	}
}

// kernelKeyringsWork reports whether this system lets mfad keep sessions
// in the kernel's keyrings.
func kernelKeyringsWork(t *testing.T) bool {
	t.Helper()
	probe := keystore.NewKernelSessions(t.TempDir())
	err := probe.PutSession("probe", keystore.CachedSession{AccessKeyID: "ASIAPROBE", Expiration: time.Now().Add(time.Minute)})
	if errors.Is(err, keystore.ErrUnsupported) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	probe.Forget()
	return true
}
