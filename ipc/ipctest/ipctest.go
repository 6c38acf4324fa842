//go:build unix

// Package ipctest helps tests act as another local user, to check that
// the control socket and the IMDS port refuse them. Only root can start a
// process as another user: the tests that need it fail in CI, which runs
// as root, and skip elsewhere.
package ipctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// OtherUID is the user the tests act as: nobody.
const OtherUID = 65534

// RequireRoot fails the test in CI (CI set) unless run as root, and skips
// it elsewhere.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Getuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("cross-user tests need root, and CI runs as root")
	}
	t.Skip("cross-user tests need root to act as another user; CI runs them")
}

// HelperBinary returns a copy of the running test binary in a directory
// any user can enter, for another user to run.
func HelperBinary(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mfad-crossuser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// RunAs runs bin as uid with env (plus a minimal HOME and PATH) and returns
// what it printed; a failing command is the caller's to judge from that.
func RunAs(uid uint32, bin string, env []string, args ...string) string {
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"HOME=/", "PATH=/usr/bin:/bin"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, _ := cmd.CombinedOutput()
	return string(out)
}
