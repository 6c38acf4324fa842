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

// ManagerError is a service manager that cannot take the service: what
// it said, and the fix for the situation.
type ManagerError struct {
	Said string
	Fix  string
}

func (e *ManagerError) Error() string { return "the service manager cannot install mfad: " + e.Said }

// Hint is the fix.
func (e *ManagerError) Hint() string { return e.Fix }

// fallbackFix is what to do where no user service manager runs.
const fallbackFix = "start the daemon from your shell's start-up file instead: `mfad shell-init bash --start` (zsh, fish likewise) prints the lines, and `mfad serve --detach` starts it now"

// checkManager asks the user's systemd whether it can take a service,
// before anything is written: without a user manager (SSH without
// lingering, containers, WSL without systemd) install would otherwise
// fail half-way with systemctl's bare exit status.
func checkManager() error {
	if _, err := exec.LookPath("systemctl"); err != nil {
		return &ManagerError{Said: "there is no systemctl: this system does not run systemd", Fix: fallbackFix}
	}
	out, err := exec.Command("systemctl", "--user", "show-environment").CombinedOutput()
	if err == nil {
		return nil
	}
	said := strings.TrimSpace(string(out))
	if said == "" {
		said = err.Error()
	}
	fix := "log in through a session that starts your user manager (a desktop or `ssh` login with systemd-logind), or let it run without a login: `loginctl enable-linger " + os.Getenv("USER") + "`; or " + fallbackFix
	if wsl() {
		fix = "WSL runs without systemd unless /etc/wsl.conf says `[boot]` `systemd=true` (then `wsl --shutdown` from Windows); or " + fallbackFix
	}
	return &ManagerError{Said: "systemctl --user: " + said, Fix: fix}
}

// wsl reports whether this is the Windows Subsystem for Linux.
func wsl() bool {
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.Contains(strings.ToLower(string(release)), "microsoft")
}
