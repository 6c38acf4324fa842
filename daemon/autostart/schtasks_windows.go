package autostart

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
)

// Windows services run outside the user's session, and kardianos/service
// knows no per-user one: mfad runs instead as a scheduled task that starts
// at the user's logon, with the user's rights, hidden.

func schtasks(args ...string) (string, error) {
	cmd := exec.Command("schtasks.exe", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("schtasks %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func commandLine(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = syscall.EscapeArg(a)
	}
	return strings.Join(quoted, " ")
}

// Install creates (or replaces: /F) the logon task and sets the endpoint
// variable in the user's environment for new programs.
func Install(s Settings) (Installed, error) {
	if _, err := schtasks("/Create", "/F", "/SC", "ONLOGON", "/RL", "LIMITED", "/TN", Name, "/TR", commandLine(s.Command())); err != nil {
		return nil, err
	}
	if _, err := exec.Command("setx", "AWS_EC2_METADATA_SERVICE_ENDPOINT", s.Endpoint).CombinedOutput(); err != nil {
		return Installed{"task " + Name}, err
	}
	return Installed{"task " + Name, "user variable AWS_EC2_METADATA_SERVICE_ENDPOINT"}, nil
}

// Uninstall ends and deletes the task, and removes the variable.
func Uninstall(Settings) error {
	_, _ = schtasks("/End", "/TN", Name)
	if _, err := schtasks("/Delete", "/F", "/TN", Name); err != nil {
		return err
	}
	_, _ = exec.Command("reg", "delete", `HKCU\Environment`, "/F", "/V", "AWS_EC2_METADATA_SERVICE_ENDPOINT").CombinedOutput()
	return nil
}

// Control runs start, stop or restart.
func Control(_ Settings, action string) error {
	switch action {
	case "start":
		_, err := schtasks("/Run", "/TN", Name)
		return err
	case "stop":
		_, err := schtasks("/End", "/TN", Name)
		return err
	case "restart":
		_, _ = schtasks("/End", "/TN", Name)
		_, err := schtasks("/Run", "/TN", Name)
		return err
	}
	return fmt.Errorf("unknown action %q", action)
}

// CurrentStatus asks the task scheduler.
func CurrentStatus(Settings) (Status, error) {
	out, err := schtasks("/Query", "/TN", Name, "/FO", "LIST")
	if err != nil {
		return NotInstalled, nil
	}
	if strings.Contains(out, "Running") {
		return Running, nil
	}
	return Stopped, nil
}

// OnDisk lists the files of the service that exist: none, for a task.
func OnDisk() []string { return nil }
