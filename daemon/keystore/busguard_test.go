//go:build linux

package keystore

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mfad/mfad/daemon/keystore/busguard"
)

const busHelperEnv = "MFAD_TEST_BUS_HELPER"

// fakeDBusLaunch puts a dbus-launch in a directory of its own that leaves
// a mark when run, as dbus-x11's would leave a dbus-daemon; it returns the
// directory and the mark's path.
func fakeDBusLaunch(t *testing.T) (dir, mark string) {
	t.Helper()
	dir = t.TempDir()
	mark = filepath.Join(dir, "launched")
	script := "#!/bin/sh\ntouch " + mark + "\necho DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "bus") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "dbus-launch"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, mark
}

// userBusExists reports whether godbus would find this user's session bus
// without being told (and so launch none, guard or not).
func userBusExists() bool {
	dir := "/run/user/" + strconv.Itoa(os.Getuid())
	_, errBus := os.Stat(dir + "/bus")
	_, errFile := os.Stat(dir + "/dbus-session")
	return errBus == nil || errFile == nil
}

// TestKeyringLaunchesNoBus: loading the keyring library, as every mfad
// process does, never runs dbus-launch (which would leave a dbus-daemon
// behind per process on a box with dbus-x11 and no session bus), and
// leaves DBUS_SESSION_BUS_ADDRESS as it found it, for the programs mfad
// runs. A copy of this test binary is the process that loads it.
func TestKeyringLaunchesNoBus(t *testing.T) {
	if os.Getenv(busHelperEnv) != "" {
		value, set := os.LookupEnv(busguard.AddressEnv)
		fmt.Printf("guarded=%v set=%v value=%q\n", busguard.Guarded(), set, value)
		return
	}
	dir, mark := fakeDBusLaunch(t)
	for _, tc := range []struct {
		name string
		env  []string
		want string // what the process sees once loaded
	}{
		{"unset", nil, `set=false value=""`},
		{"empty", []string{busguard.AddressEnv + "="}, `set=true value=""`},
		{"autolaunch", []string{busguard.AddressEnv + "=autolaunch:"}, `set=true value="autolaunch:"`},
		{"a bus named", []string{busguard.AddressEnv + "=unix:path=" + filepath.Join(dir, "no-bus")}, `set=true value="unix:path=` + filepath.Join(dir, "no-bus") + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestKeyringLaunchesNoBus$")
			cmd.Env = append([]string{busHelperEnv + "=1", "HOME=" + dir, "PATH=" + dir + ":" + os.Getenv("PATH")}, tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if _, err := os.Stat(mark); err == nil {
				t.Fatalf("loading the keyring ran dbus-launch\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("after loading the keyring: %s; want %s", out, tc.want)
			}
			// The guard's part, where godbus would otherwise have launched a bus.
			wantGuarded := tc.name != "a bus named" && !userBusExists()
			if got := strings.Contains(string(out), "guarded=true"); got != wantGuarded {
				t.Errorf("guarded: %s; want guarded=%v", out, wantGuarded)
			}
		})
	}
}
