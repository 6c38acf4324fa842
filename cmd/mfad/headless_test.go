//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHeadlessBoxLaunchesNoBus: on a box that has dbus-launch (dbus-x11)
// but no session bus and no DBUS_SESSION_BUS_ADDRESS, as over SSH, in WSL
// or a container, no mfad process (commands, the daemon, its key
// derivation) runs dbus-launch, which would leave a dbus-daemon behind for
// each of them; and what mfad runs sees no bus address that was not there.
func TestHeadlessBoxLaunchesNoBus(t *testing.T) {
	w := newWorld(t)
	bin := t.TempDir()
	mark := filepath.Join(bin, "launched")
	writeFile(t, filepath.Join(bin, "dbus-launch"), "#!/bin/sh\necho \"$0 $*\" >> "+mark+"\necho DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(bin, "bus")+"\n")
	if err := os.Chmod(filepath.Join(bin, "dbus-launch"), 0o700); err != nil {
		t.Fatal(err)
	}
	w.unsetEnv("DBUS_SESSION_BUS_ADDRESS", "PATH")
	w.env = append(w.env, "PATH="+bin+":"+os.Getenv("PATH"))

	w.addKeys()
	w.serve()
	w.mustMfad("unlock", "--code", w.user.Code(time.Now()))
	w.mustMfad("status")
	if out := w.mustMfad("exec", "default", "--", "sh", "-c", `echo "bus=${DBUS_SESSION_BUS_ADDRESS-unset}"`); strings.TrimSpace(out) != "bus=unset" {
		t.Errorf("the command mfad ran saw %q", out)
	}
	if runs, err := os.ReadFile(mark); err == nil {
		t.Fatalf("dbus-launch was run %d times", strings.Count(string(runs), "\n"))
	}
}
