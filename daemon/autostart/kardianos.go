//go:build linux || darwin

package autostart

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"

	"github.com/mfad/mfad/packaging"
)

// noProgram is the service.Interface kardianos asks for; mfad's service
// commands install and control the service, and never run it through
// kardianos.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }

// userSystemd is kardianos's systemd, taken wherever systemctl is: a
// user's systemd runs even where PID 1 is not systemd.
type userSystemd struct{ service.System }

func (userSystemd) Detect() bool {
	_, err := exec.LookPath("systemctl")
	return err == nil
}

// newService configures kardianos/service with mfad's own unit or agent,
// rendered from package packaging.
func newService(s Settings) (service.Service, error) {
	opts := service.KeyValue{"UserService": true}
	switch runtime.GOOS {
	case "linux":
		// User units are systemd's; kardianos would otherwise guess from
		// PID 1, which in a container or under WSL is not systemd.
		for _, sys := range service.AvailableSystems() {
			if sys.String() == "linux-systemd" {
				service.ChooseSystem(userSystemd{sys})
				break
			}
		}
		unit, err := packaging.SystemdUnit(packaging.Service{Args: s.Command()})
		if err != nil {
			return nil, err
		}
		// Rendered already: no template directives are left for
		// kardianos's own engine.
		opts["SystemdScript"] = unit
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		plist, err := packaging.LaunchdPlist(packaging.Service{
			Args:    append(s.Command(), "--setenv"),
			LogFile: filepath.Join(home, "Library", "Logs", "mfad.log"),
		})
		if err != nil {
			return nil, err
		}
		opts["LaunchdConfig"] = plist
	}
	return service.New(noProgram{}, &service.Config{
		Name:        Name,
		DisplayName: "mfad",
		Description: "MFA-backed AWS credentials for the AWS CLI and SDKs",
		Executable:  s.Command()[0],
		Arguments:   s.Command()[1:],
		Option:      opts,
	})
}

// Install writes the service (replacing an older one), enables it at
// login, and writes the session environment. Running it again changes
// nothing. It does all of it or nothing: the service manager is asked
// first whether it can take a service, and a failure half-way removes
// what was written.
func Install(s Settings) (files Installed, err error) {
	if err := checkManager(); err != nil {
		return nil, err
	}
	svc, err := newService(s)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = Uninstall(s)
			files = nil
		}
	}()
	// kardianos refuses to overwrite: an existing definition is removed
	// first, so that install also updates the binary path or flags.
	if _, err := os.Stat(servicePath()); err == nil {
		if err := svc.Uninstall(); err != nil {
			return nil, err
		}
	}
	socket, err := installSocket(s)
	if err != nil {
		return nil, err
	}
	if err := svc.Install(); err != nil {
		return nil, err
	}
	if err := enableSocket(); err != nil {
		return nil, err
	}
	files = Installed{servicePath()}
	if socket != "" {
		files = append(files, socket)
	}
	envFile, err := writeSessionEnvironment(s.Endpoint)
	if err != nil {
		return nil, err
	}
	if envFile != "" {
		files = append(files, envFile)
	}
	return files, nil
}

// Uninstall stops and removes the service and the session environment.
func Uninstall(s Settings) error {
	svc, err := newService(s)
	if err != nil {
		return err
	}
	_ = svc.Stop()
	if err := svc.Uninstall(); err != nil && !errors.Is(err, service.ErrNotInstalled) {
		// The manager may not answer (no user bus): what install wrote
		// goes all the same.
		if err := removeFile(servicePath()); err != nil {
			return err
		}
	}
	if err := removeFile(wantsLink()); err != nil {
		return err
	}
	if err := removeSocket(); err != nil {
		return err
	}
	return removeSessionEnvironment()
}

// Control runs start, stop or restart. Stop stops the socket too: a held
// socket would start the daemon again at the next request.
func Control(s Settings, action string) error {
	svc, err := newService(s)
	if err != nil {
		return err
	}
	if err := service.Control(svc, action); err != nil {
		return err
	}
	if action == "stop" {
		return controlSocket("stop")
	}
	return nil
}

// CurrentStatus asks the service manager.
func CurrentStatus(s Settings) (Status, error) {
	svc, err := newService(s)
	if err != nil {
		return "", err
	}
	st, err := svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return NotInstalled, nil
	case err != nil:
		return "", err
	case st == service.StatusRunning:
		return Running, nil
	}
	return Stopped, nil
}

// wantsLink is the link systemctl enable makes for the unit.
func wantsLink() string {
	if runtime.GOOS != "linux" {
		return ""
	}
	return filepath.Join(filepath.Dir(servicePath()), "default.target.wants", Name+".service")
}

// OnDisk lists the files of the service that exist.
func OnDisk() []string {
	var found []string
	for _, p := range []string{servicePath(), socketPath(), wantsLink(), environmentFile()} {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			found = append(found, p)
		}
	}
	return found
}

// servicePath is where the unit or agent lives.
func servicePath() string {
	home, _ := os.UserHomeDir()
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "LaunchAgents", Name+".plist")
	}
	return filepath.Join(home, ".config", "systemd", "user", Name+".service")
}
