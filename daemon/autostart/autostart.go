// Package autostart installs mfad as a per-user login service: a systemd
// user unit on Linux and a launchd agent on macOS, through
// github.com/kardianos/service, with the files from package packaging; a
// logon task on Windows, where kardianos/service knows no per-user
// service. It also writes what gives new sessions the endpoint variable.
package autostart

import (
	"os"
	"path/filepath"
)

// Name is the service's name: mfad.service, dev.mfad.mfad, the task mfad.
const Name = "mfad"

// Settings say what the service runs.
type Settings struct {
	// Executable is the mfad binary's absolute path.
	Executable string
	// Daemon, when set, is the absolute path of the mfad-daemon binary
	// of the same build as Executable: the service runs it directly with
	// ServeArgs (what `mfad serve` would hand over to), so a login or a
	// restart waits for one process start, not two.
	Daemon string
	// ServeArgs are the arguments after "serve".
	ServeArgs []string
	// Endpoint is the IMDS endpoint the daemon will serve, for the
	// session environment.
	Endpoint string
	// Listen is the endpoint's address, host:port, which the service
	// manager holds for the daemon where it can (systemd socket
	// activation).
	Listen string
}

// Status is what the service manager says of the service.
type Status string

// Statuses.
const (
	Running      Status = "running"
	Stopped      Status = "stopped"
	NotInstalled Status = "not installed"
)

// Installed lists the files Install wrote and Uninstall removes.
type Installed []string

// Command is the service's whole command line.
func (s Settings) Command() []string {
	if s.Daemon != "" {
		return append([]string{s.Daemon}, s.ServeArgs...)
	}
	return append([]string{s.Executable, "serve"}, s.ServeArgs...)
}

// writeFile writes data to path (0644, creating directories), and reports
// whether anything changed, so that a second install changes nothing.
func writeFile(path, data string) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && string(old) == data {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	tmp := path + ".mfad-tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

// removeFile removes path; a missing file is no error.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
