package serve

import (
	"os/exec"
	"runtime"
)

// setSessionEnv sets a variable for every program the desktop session
// starts from now on. On macOS that is launchd's job; elsewhere login
// files do it (environment.d, written at install), so there is nothing to do.
func setSessionEnv(name, value string) error {
	if runtime.GOOS != "darwin" {
		return nil
	}
	return exec.Command("launchctl", "setenv", name, value).Run()
}
