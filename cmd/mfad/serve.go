package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/99designs/keyring"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mfad/mfad/daemon"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/notify"
	"github.com/mfad/mfad/daemon/session"
	"github.com/mfad/mfad/ipc"
)

func newServeCmd() *cobra.Command {
	var (
		listen, profile, logLevel string
		allowV1, notifications    bool
		setenv, detached          bool
		cpuProfile                string
		warnBefore                time.Duration
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
restarts, and no other user can take it in between.`,
		Example: `  mfad serve                        # in the foreground, until Ctrl-C
  mfad serve --detach               # in the background; returns once it answers
  mfad serve --profile work --listen 127.0.0.1:9912`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if detached {
				var args []string
				cmd.Flags().Visit(func(f *pflag.Flag) {
					if f.Name != "detach" {
						args = append(args, "--"+f.Name+"="+f.Value.String())
					}
				})
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
			// The file keyring's key is derived in a child process:
			// scrypt's 32 MiB would stay the daemon's high-water mark.
			keystore.DeriveInChild(selfExecutable())
			in := newInput(cmd)
			var keys interface {
				session.KeySource
				session.Cache
				daemon.KeyAdmin
			}
			var waiting daemon.LockedKeyring
			// A keyring that answers, or none: a Secret Service locked
			// at login (its prompt seen by no one) does not answer.
			openAnswering := func() (*keystore.Store, error) {
				s, err := openKeystore(in)
				if err == nil {
					err = s.Probe(keyringProbe)
				}
				return s, err
			}
			store, err := openAnswering()
			if isKind(err, ipc.KindKeyring) {
				// Not up yet (a Secret Service at login): serve, and
				// try it again at each use rather than exit.
				retrying := keystore.NewRetrying(err, openAnswering)
				keys, waiting = retrying, retrying
				logger.Warn("the keyring does not answer; mfad serves and tries it again at each unlock", "error", err.Error())
			} else if err != nil {
				return err
			} else {
				keys = store
			}
			// Ask for anything the keyring needs (the file keyring's
			// passphrase) now, while the terminal is the daemon's: a
			// prompt later would stop a daemon running in the background.
			// Without a terminal or the passphrase in the environment
			// (a login service), serve locked and wait for `mfad unlock`
			// to send the passphrase.
			var openKeyring func() error
			if passphrase := os.Getenv(keystore.PassphraseEnv); store != nil && store.Backend() == string(keyring.FileBackend) && passphrase != "" {
				// Given in the environment: opened once serving (the key
				// derivation takes a tenth of a second, and a restart
				// finds its sessions in the kernel's keyring).
				lazy := lazyKeyring()
				keys, waiting = lazy, lazy
				openKeyring = func() error { return lazy.Open(passphrase) }
			} else if store != nil {
				if err := store.Unlock(); isKind(err, ipc.KindKeyringLocked) {
					lazy := lazyKeyring()
					keys, waiting = lazy, lazy
					logger.Info("the file keyring waits for its passphrase: `mfad unlock` asks for it", "keyring", lazy.File)
				} else if err != nil {
					return err
				} else {
					logger.Debug("keyring opened", "backend", store.Backend())
				}
			}
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
				Keys:        keys,
				Cache:       keys,
				Admin:       keys,
				Keyring:     waiting,
				OpenKeyring: openKeyring,
				Logger:      logger,
				Version:     mfadVersion(),
				Notifier:    notifier,
				WarnBefore:  warnBefore,
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", daemon.Listen(), "loopback `address` of the IMDS endpoint")
	cmd.Flags().StringVar(&profile, "profile", "default", "AWS config `profile` served on the IMDS endpoint")
	cmd.Flags().BoolVar(&allowV1, "allow-imdsv1", false, "also answer IMDSv1 requests, which carry no session token")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	cmd.Flags().BoolVar(&notifications, "notify", true, "show desktop notifications (notify-send, osascript)")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to `file` until the daemon stops (for benchmarking)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().BoolVar(&setenv, "setenv", false, "set AWS_EC2_METADATA_SERVICE_ENDPOINT for the GUI session (macOS: launchctl setenv; what the login agent runs)")
	cmd.Flags().DurationVar(&warnBefore, "warn-before", 15*time.Minute, "warn this long before a session ends (0 to never warn)")
	cmd.Flags().BoolVar(&detached, "detach", false, "run in the background, its log in ~/.local/state/mfad/mfad.log; return once it answers")
	return cmd
}

// keyringProbe bounds the daemon's first look at its keyring.
const keyringProbe = 5 * time.Second

// lazyKeyring is the file keyring that opens when `mfad unlock` sends its
// passphrase (keystore.Lazy).
func lazyKeyring() *keystore.Lazy {
	opts, err := keystore.EnvOptions(nil)
	return keystore.NewLazy(opts.FileKeyring(), func(passphrase string) (*keystore.Store, error) {
		if err != nil {
			return nil, err
		}
		o := opts
		o.Passphrase = func(string) (string, error) { return passphrase, nil }
		s, err := keystore.Open(o)
		if err != nil {
			return nil, err
		}
		return s, s.Unlock()
	})
}

// selfExecutable is this binary, to run a child of: on Linux the kernel's
// own link, which keeps working when an upgrade replaces the file.
func selfExecutable() string {
	if runtime.GOOS == "linux" {
		return "/proc/self/exe"
	}
	if exe, err := os.Executable(); err == nil {
		return exe
	}
	return os.Args[0]
}
