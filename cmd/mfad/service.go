package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/handoff"
	"github.com/mfad/mfad/daemon"
	"github.com/mfad/mfad/daemon/autostart"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/ipc"
	"github.com/mfad/mfad/packaging"
)

func newServiceCmd() *cobra.Command {
	var listen, profile, executable string
	var socketUnit bool
	settings := func() (autostart.Settings, error) {
		exe, err := os.Executable()
		if err != nil {
			return autostart.Settings{}, err
		}
		if exe, err = filepath.EvalSymlinks(exe); err != nil {
			return autostart.Settings{}, err
		}
		// The daemon binary of this build, beside this one, is what
		// the service runs; packagers name where mfad will be
		// installed (--executable), mfad-daemon then beside it.
		daemonExe, _ := handoff.Daemon()
		if executable != "" {
			exe = executable
			if daemonExe != "" {
				daemonExe = filepath.Join(filepath.Dir(executable), handoff.DaemonName)
			}
		}
		if err := daemon.CheckLoopback(listen); err != nil {
			return autostart.Settings{}, err
		}
		return autostart.Settings{
			Executable: exe,
			Daemon:     daemonExe,
			ServeArgs:  []string{"--listen", listen, "--profile", profile},
			Endpoint:   "http://" + listen + "/",
			Listen:     listen,
		}, nil
	}
	cmd := &cobra.Command{
		Use:   "service install|uninstall|start|stop|restart|status|unit",
		Short: "Run the daemon at every login",
		Long: `Install mfad as a login service of your own user: a systemd user unit on
Linux (~/.config/systemd/user/mfad.service, started with the user session,
restarted on failure), a launchd agent on macOS
(~/Library/LaunchAgents/mfad.plist), a task that runs at logon on Windows.
Install also gives new sessions AWS_EC2_METADATA_SERVICE_ENDPOINT:
~/.config/environment.d/60-mfad.conf on Linux (read by systemd user sessions
and GNOME), launchctl setenv by the agent on macOS, the user environment on
Windows. Install is safe to repeat, and updates the service to this binary
and these flags; uninstall removes everything install wrote. The service
runs mfad-daemon when one of this build is installed beside mfad (what
` + "`mfad serve`" + ` would hand over to), else ` + "`mfad serve`" + `.

On Linux the port is held by systemd (mfad.socket, socket activation)
from login to logout: while the daemon restarts or is upgraded, requests
wait for it, and no other user can take the port in between.

"unit" prints the systemd user unit, and "unit --socket" the socket unit,
for packagers (see --executable).`,
		Example: `  mfad service install && mfad service start
  mfad service install --profile work --listen 127.0.0.1:9912
  mfad service status`,
		Args:      exactArgs("ACTION"),
		ValidArgs: []string{"install", "uninstall", "start", "stop", "restart", "status", "unit"},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := settings()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch action := args[0]; action {
			case "install":
				files, err := autostart.Install(s)
				if err != nil {
					return fmt.Errorf("failed to install the service: %w", err)
				}
				for _, f := range files {
					fmt.Fprintf(out, "wrote %s\n", f)
				}
				fmt.Fprintf(out, "mfad will start at each login, serving profile %s at %s\n", profile, s.Endpoint)
				fmt.Fprintln(cmd.ErrOrStderr(), "note: start it now with `mfad service start`; this shell needs `eval \"$(mfad env)\"`")
				if opts, err := keystore.EnvOptions(nil); err == nil {
					if store, err := keystore.Open(opts); err == nil && store.Backend() == "file" {
						fmt.Fprintln(cmd.ErrOrStderr(), "note: the keyring here is the encrypted file: the service's daemon starts locked, and the first `mfad unlock` asks for its passphrase")
					}
				}
			case "uninstall":
				if err := autostart.Uninstall(s); err != nil {
					return fmt.Errorf("failed to uninstall the service: %w", err)
				}
				fmt.Fprintln(out, "removed the mfad login service and the session environment it set")
			case "start", "stop", "restart":
				if err := autostart.Control(s, action); err != nil {
					return fmt.Errorf("failed to %s the service: %w", action, err)
				}
				fmt.Fprintf(out, "service %s: done\n", action)
			case "unit":
				unit, err := packaging.SystemdUnit(packaging.Service{Args: s.Command()})
				if socketUnit {
					unit, err = packaging.SystemdSocket(s.Listen)
				}
				if err != nil {
					return err
				}
				fmt.Fprint(out, unit)
			case "status":
				// What is on disk, and what the manager says: either
				// can be wrong without the other (no user bus, files
				// removed by hand).
				files := autostart.OnDisk()
				st, err := autostart.CurrentStatus(s)
				switch {
				case err != nil:
					fmt.Fprintf(out, "service: the service manager does not answer: %v\n", err)
				default:
					fmt.Fprintf(out, "service: %s\n", st)
				}
				if len(files) == 0 {
					fmt.Fprintln(out, "files: none")
				}
				for _, f := range files {
					fmt.Fprintf(out, "file: %s\n", f)
				}
				if err != nil || (st == autostart.NotInstalled && len(files) > 0) {
					return ipc.NewError(ipc.KindBadRequest, "the service is not in a working state",
						"`mfad service install` again (it says what stands in the way), or `mfad service uninstall` to remove the files")
				}
			default:
				return &usageError{err: fmt.Errorf("unknown action %q", action), cmd: cmd.CommandPath()}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", daemon.Listen(), "loopback `address` the service's daemon serves on")
	cmd.Flags().StringVar(&profile, "profile", "default", "`profile` the service's daemon serves on its IMDS endpoint")
	cmd.Flags().StringVar(&executable, "executable", "", "`path` of mfad the service runs (default: this binary)")
	cmd.Flags().BoolVar(&socketUnit, "socket", false, "with unit: print the systemd socket unit instead")
	return cmd
}
