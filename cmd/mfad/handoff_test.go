//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mfad/mfad/cmd/internal/handoff"
)

// TestServeBecomesTheDaemonBinary: `mfad serve` with mfad-daemon beside it
// replaces itself by it, keeping its process ID (what a service manager and
// its socket activation know it by), so the process that runs all day is
// the small one; and it serves as mfad would.
func TestServeBecomesTheDaemonBinary(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	d := w.serve()
	if got, want := exeOf(t, d.cmd.Process.Pid), filepath.Join(filepath.Dir(mfadBin), handoff.DaemonName); got != want {
		t.Fatalf("the process started as `mfad serve` runs %s, want %s", got, want)
	}
	var st struct{ PID int }
	if err := json.Unmarshal([]byte(w.mustMfad("status", "--json")), &st); err != nil || st.PID != d.cmd.Process.Pid {
		t.Fatalf("status says pid %d, the process started is %d", st.PID, d.cmd.Process.Pid)
	}
	w.mustMfad("unlock", "--code", w.freshCode())
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err != nil {
		t.Fatalf("SDK through mfad-daemon: %v", err)
	}
	// Its own command line, for whoever finds it in ps.
	out, err := exec.Command(filepath.Join(filepath.Dir(mfadBin), handoff.DaemonName), "--version").CombinedOutput()
	if v := strings.TrimSpace(w.mustMfad("--version")); err != nil || !strings.HasSuffix(v, strings.TrimPrefix(strings.TrimSpace(string(out)), handoff.DaemonName)) {
		t.Fatalf("mfad-daemon --version: %q, %v; mfad --version: %q", out, err, v)
	}
	res := w.mfad("", nil, "serve", "--listen", "127.0.0.1:0", "--log-level", "loud")
	expectFailure(t, res, `--log-level "loud" is not one of debug, info, warn, error`, "see `mfad serve --help`")
}

// TestServeWithoutTheDaemonBinary: mfad installed alone (`go install
// ./cmd/mfad`) serves in its own process; beside a daemon binary that is
// not of its build, it says so and does the same, rather than run a
// daemon that may not speak its protocol.
func TestServeWithoutTheDaemonBinary(t *testing.T) {
	alone := filepath.Join(t.TempDir(), "mfad")
	copyBinary(t, mfadBin, alone)
	w := newWorld(t)
	w.addKeys()
	d, logs := w.serveWith(func(cmd *exec.Cmd) { cmd.Path = alone })
	if got := exeOf(t, d.cmd.Process.Pid); got != alone {
		t.Fatalf("mfad alone: the daemon runs %s, want %s", got, alone)
	}
	if strings.Contains(logs.String(), "warning") {
		t.Fatalf("mfad alone warned:\n%s", logs)
	}
	// Its login service runs it the same way.
	if unit := w.mfadAt(alone, "service", "unit"); !strings.Contains(unit, "ExecStart="+alone+" serve --listen ") {
		t.Fatalf("the unit of mfad alone:\n%s", unit)
	}
	w.mustMfad("unlock", "--code", w.freshCode())
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err != nil {
		t.Fatalf("SDK through mfad alone: %v", err)
	}
	d.stop(t)

	// Another program by the daemon's name: mfad itself.
	impostor := filepath.Join(filepath.Dir(alone), handoff.DaemonName)
	copyBinary(t, mfadBin, impostor)
	d, logs = w.serveWith(func(cmd *exec.Cmd) { cmd.Path = alone })
	if got := exeOf(t, d.cmd.Process.Pid); got != alone {
		t.Fatalf("beside another build: the daemon runs %s, want %s", got, alone)
	}
	if want := "mfad: warning: " + impostor + " is github.com/mfad/mfad/cmd/mfad, not github.com/mfad/mfad/cmd/mfad-daemon; serving in this process"; !strings.Contains(logs.String(), want) {
		t.Fatalf("log does not say %q:\n%s", want, logs)
	}
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err != nil {
		t.Fatalf("SDK through mfad beside another build: %v", err)
	}
	if unit := w.mfadAt(alone, "service", "unit"); !strings.Contains(unit, "ExecStart="+alone+" serve --listen ") {
		t.Fatalf("the unit of mfad beside another build:\n%s", unit)
	}
}

// TestDaemonBesideAnotherMfad: a login service installed earlier runs
// mfad-daemon directly; after mfad alone was upgraded, that daemon is of
// another build than the mfad beside it. It hands serving to that mfad
// (which serves in its own process, beside a daemon not of its build),
// saying so, rather than serve an old version without a word.
func TestDaemonBesideAnotherMfad(t *testing.T) {
	dir := t.TempDir()
	build := exec.Command("go", "build", "-ldflags=-X main.version=upgraded", "-o", filepath.Join(dir, "mfad"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building another mfad: %v\n%s", err, out)
	}
	daemonBin := filepath.Join(dir, handoff.DaemonName)
	copyBinary(t, filepath.Join(filepath.Dir(mfadBin), handoff.DaemonName), daemonBin)
	w := newWorld(t)
	w.addKeys()
	d, logs := w.serveWith(func(cmd *exec.Cmd) {
		cmd.Path = daemonBin
		cmd.Args = append([]string{daemonBin}, cmd.Args[2:]...) // the service's command: no "serve"
	})
	if got := exeOf(t, d.cmd.Process.Pid); got != filepath.Join(dir, "mfad") {
		t.Fatalf("the daemon beside another mfad runs %s, want that mfad", got)
	}
	for _, want := range []string{
		"mfad: warning: " + filepath.Join(dir, "mfad") + " is from another build (upgraded",
		"serve` serves instead (`mfad service install` makes the service run it)",
		"mfad: warning: " + daemonBin + " is from another build",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("log does not say %q:\n%s", want, logs)
		}
	}
	if st := w.mustMfad("status"); !strings.Contains(st, "mfad upgraded (pid "+strconv.Itoa(d.cmd.Process.Pid)+")") {
		t.Fatalf("status:\n%s", st)
	}
	w.mustMfad("unlock", "--code", w.freshCode())
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err != nil {
		t.Fatalf("SDK through the upgraded mfad: %v", err)
	}
}

// mfadAt runs the mfad binary at path and returns its output.
func (w *world) mfadAt(path string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = w.env
	out, err := cmd.Output()
	if err != nil {
		w.t.Fatalf("%s %v: %v", path, args, err)
	}
	return string(out)
}

// exeOf is the binary process pid runs. (serve returns once the daemon
// logs that it serves: after any handover.)
func exeOf(t *testing.T, pid int) string {
	t.Helper()
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func copyBinary(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
