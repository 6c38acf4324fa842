package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mfad/mfad/cmd/internal/handoff"
	"github.com/mfad/mfad/cmd/internal/serve"
	"github.com/mfad/mfad/ipc"
)

func newServeCmd() *cobra.Command {
	var (
		opts     serve.Options
		detached bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon (in the foreground, or in the background with --detach)",
		Long: `Run the daemon in the foreground until interrupted. It serves PROFILE's MFA
session credentials on an endpoint that AWS SDKs and the CLI read like the
EC2 instance metadata service (IMDSv2), and listens for mfad commands on
its control socket (` + "$XDG_RUNTIME_DIR/mfad/mfad.sock, or $" + ipc.SocketEnv + `).

It starts locked: run ` + "`mfad unlock`" + ` to start a session. Point tools at it
with ` + "`eval \"$(mfad env)\"`" + `.

Under a service manager that passes it the endpoint's socket (systemd
socket activation, LISTEN_FDS; what ` + "`mfad service install`" + ` sets up), it
serves on that socket instead of --listen: the port stays held across
restarts, and no other user can take it in between.

With mfad-daemon of the same build installed beside mfad (as the packages
and ` + "`go install ./cmd/mfad ./cmd/mfad-daemon`" + ` install it), serve replaces
itself by it, keeping its process ID: the process that keeps running links
only the daemon (smaller, and quicker to start). Without it, or beside one
of another build (a warning says so), mfad serves in its own process.`,
		Example: `  mfad serve                        # in the foreground, until Ctrl-C
  mfad serve --detach               # in the background; returns once it answers
  mfad serve --profile work --listen 127.0.0.1:9912`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var args []string // the flags given, for another process
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if f.Name != "detach" {
					args = append(args, "--"+f.Name+"="+f.Value.String())
				}
			})
			if detached {
				st, logPath, err := startDaemon(cmd.Context(), &ipc.Client{}, args...)
				if err != nil {
					return withSquatter(err, nil)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "mfad is serving profile %s at %s (pid %d); its log is %s\n", st.IMDSProfile, st.IMDSEndpoint, st.PID, logPath)
				if st.KeyringLocked {
					fmt.Fprintln(cmd.ErrOrStderr(), "note: its encrypted key file waits for the passphrase: `mfad unlock` asks for it, then the code")
				}
				return nil
			}
			// mfad-daemon beside this binary serves in a process that
			// links only the daemon: this one becomes it.
			if path, why := handoff.Daemon(); path != "" {
				err := handoff.Exec(path, args)
				fmt.Fprintf(cmd.ErrOrStderr(), "mfad: warning: could not run %s (%v): serving in this process\n", path, err)
			} else if why != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "mfad: warning: %s; serving in this process\n", why)
			}
			err := serve.Run(cmd.Context(), opts, cmd.InOrStdin(), cmd.ErrOrStderr(), mfadVersion())
			var level *serve.LevelError
			if errors.As(err, &level) {
				return &usageError{err: err, cmd: cmd.CommandPath()}
			}
			return err
		},
	}
	opts.Flags(cmd.Flags())
	cmd.Flags().BoolVar(&detached, "detach", false, "run in the background, its log in ~/.local/state/mfad/mfad.log; return once it answers")
	return cmd
}
