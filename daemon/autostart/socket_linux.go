package autostart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mfad/mfad/packaging"
)

// socketPath is where the socket unit lives.
func socketPath() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "systemd", "user", Name+".socket")
}

// installSocket writes the socket unit that holds the endpoint's port for
// the daemon, and returns its path.
func installSocket(s Settings) (string, error) {
	unit, err := packaging.SystemdSocket(s.Listen)
	if err != nil {
		return "", err
	}
	_, err = writeFile(socketPath(), unit)
	return socketPath(), err
}

// enableSocket makes systemd hold the port at every login, from now on.
func enableSocket() error {
	if err := systemctl("daemon-reload"); err != nil {
		return err
	}
	return systemctl("enable", Name+".socket")
}

// controlSocket starts or stops the socket unit.
func controlSocket(action string) error { return systemctl(action, Name+".socket") }

// removeSocket stops and disables the socket unit and removes its file.
func removeSocket() error {
	if _, err := os.Stat(socketPath()); err != nil {
		return nil
	}
	_ = systemctl("disable", "--now", Name+".socket")
	return removeFile(socketPath())
}

// systemctl runs systemctl for the user's manager; its own words come
// with a failure.
func systemctl(args ...string) error {
	out, err := exec.Command("systemctl", append([]string{"--user"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl --user %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
