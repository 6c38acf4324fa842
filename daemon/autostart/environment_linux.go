package autostart

import (
	"os"
	"path/filepath"
)

// environmentFile is read by systemd user sessions (and GNOME) at login,
// so every program of the session, graphical ones included, has the
// endpoint variable.
func environmentFile() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "environment.d", "60-mfad.conf")
}

func writeSessionEnvironment(endpoint string) (string, error) {
	path := environmentFile()
	_, err := writeFile(path, "# Written by `mfad service install`; removed by `mfad service uninstall`.\nAWS_EC2_METADATA_SERVICE_ENDPOINT="+endpoint+"\n")
	return path, err
}

func removeSessionEnvironment() error { return removeFile(environmentFile()) }
