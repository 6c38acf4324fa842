package main

import (
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/daemon"
	"github.com/mfad/mfad/daemon/notify"
	"github.com/mfad/mfad/ipc"
)

func newServeCmd() *cobra.Command {
	var (
		listen, profile, logLevel string
		allowV1, notifications    bool
		setenv                    bool
		cpuProfile                string
		warnBefore                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon in the foreground",
		Long: `Run the daemon in the foreground until interrupted. It serves PROFILE's MFA
session credentials on an endpoint that AWS SDKs and the CLI read like the
EC2 instance metadata service (IMDSv2), and listens for mfad commands on
its control socket (` + "$XDG_RUNTIME_DIR/mfad/mfad.sock, or $" + ipc.SocketEnv + `).

It starts locked: run ` + "`mfad unlock`" + ` to start a session. Point tools at it
with ` + "`eval \"$(mfad env)\"`" + `.

Under a service manager that passes it the endpoint's socket (systemd
socket activation, LISTEN_FDS; what ` + "`mfad service install`" + ` sets up), it
serves on that socket instead of --listen: the port stays held across
restarts, and no other user can take it in between.`,
		Example: `  mfad serve
  mfad serve --profile work --listen 127.0.0.1:9912`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return &usageError{err: err, cmd: cmd.CommandPath()}
			}
			opts := &slog.HandlerOptions{Level: level}
			if os.Getenv("JOURNAL_STREAM") != "" {
				// Under systemd the journal stamps each line itself.
				opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
					if len(groups) == 0 && a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				}
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts))
			in := newInput(cmd)
			store, err := openKeystore(in)
			if err != nil {
				return err
			}
			// Ask for anything the keyring needs (the file keyring's
			// passphrase) now, while the terminal is the daemon's: a
			// prompt later would stop a daemon running in the background.
			if err := store.Unlock(); err != nil {
				return err
			}
			logger.Debug("keyring opened", "backend", store.Backend())
			var notifier notify.Notifier
			if notifications {
				notifier = notify.Desktop()
			}
			if setenv {
				if err := setSessionEnv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+listen+"/"); err != nil {
					logger.Warn("could not set the session's environment", "error", err.Error())
				}
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			inherited, err := daemon.InheritedListener()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return daemon.Run(ctx, daemon.Config{
				Listen:      listen,
				Listener:    inherited,
				Profile:     profile,
				Socket:      ipc.DefaultSocketPath(),
				AllowIMDSv1: allowV1,
				Keys:        store,
				Cache:       store,
				Logger:      logger,
				Version:     mfadVersion(),
				Notifier:    notifier,
				WarnBefore:  warnBefore,
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", daemon.DefaultListen, "loopback `address` of the IMDS endpoint")
	cmd.Flags().StringVar(&profile, "profile", "default", "AWS config `profile` served on the IMDS endpoint")
	cmd.Flags().BoolVar(&allowV1, "allow-imdsv1", false, "also answer IMDSv1 requests, which carry no session token")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	cmd.Flags().BoolVar(&notifications, "notify", true, "show desktop notifications (notify-send, osascript)")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to `file` until the daemon stops (for benchmarking)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().BoolVar(&setenv, "setenv", false, "set AWS_EC2_METADATA_SERVICE_ENDPOINT for the GUI session (macOS: launchctl setenv; what the login agent runs)")
	cmd.Flags().DurationVar(&warnBefore, "warn-before", 15*time.Minute, "warn this long before a session ends (0 to never warn)")
	return cmd
}
