//go:build unix

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWrongPassphraseInTheEnvironment: the file keyring given in the
// environment opens once the daemon serves; a wrong passphrase there does
// not stop it (a login service would restart for ever): it says so in its
// log and in `mfad status`, and waits for `mfad unlock` to bring the right
// one, as without the variable.
func TestWrongPassphraseInTheEnvironment(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	d, logs := w.serveWith(func(cmd *exec.Cmd) {
		for i, v := range cmd.Env {
			if strings.HasPrefix(v, "MFAD_FILE_PASSPHRASE=") {
				cmd.Env[i] = "MFAD_FILE_PASSPHRASE=not the passphrase"
			}
		}
	})
	logs.waitFor(t, "the passphrase in the environment does not open the keyring; `mfad unlock` asks for it")
	if st := w.mustMfad("status"); !strings.Contains(st, "keyring: locked, waiting for its passphrase") {
		t.Fatalf("status:\n%s", st)
	}
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("credentials: %v", err)
	}
	w.unsetEnv("MFAD_FILE_PASSPHRASE")
	if res := w.mfad("test passphrase\n"+w.freshCode()+"\n", nil, "unlock"); res.exit != 0 {
		t.Fatalf("unlock with the right passphrase: %+v", res)
	}
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err != nil {
		t.Fatalf("credentials after unlock: %v", err)
	}
}
