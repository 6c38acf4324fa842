// Package serve is `mfad serve`: the daemon's flags, the choice and opening
// of its keyring, and its run. Two binaries share it: mfad, whose serve
// command hands over to mfad-daemon when that sits beside it (package
// handoff), and mfad-daemon itself, which links nothing else of the CLI
// and so serves from a smaller process (Main).
package serve

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/99designs/keyring"
	"github.com/spf13/pflag"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/notify"
	"github.com/mfad/mfad/daemon/session"
	"github.com/mfad/mfad/ipc"
)

// Options are serve's flags.
type Options struct {
	Listen, Profile, LogLevel string
	AllowV1, Notifications    bool
	SetEnv                    bool
	CPUProfile                string
	WarnBefore                time.Duration
}

// Flags defines serve's flags in fs, with their defaults.
func (o *Options) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", daemon.Listen(), "loopback `address` of the IMDS endpoint")
	fs.StringVar(&o.Profile, "profile", "default", "AWS config `profile` served on the IMDS endpoint")
	fs.BoolVar(&o.AllowV1, "allow-imdsv1", false, "also answer IMDSv1 requests, which carry no session token")
	fs.StringVar(&o.LogLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.BoolVar(&o.Notifications, "notify", true, "show desktop notifications (notify-send, osascript)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile to `file` until the daemon stops (for benchmarking; builds with -tags "+ProfileTag+" only)")
	_ = fs.MarkHidden("cpuprofile")
	fs.BoolVar(&o.SetEnv, "setenv", false, "set AWS_EC2_METADATA_SERVICE_ENDPOINT for the GUI session (macOS: launchctl setenv; what the login agent runs)")
	fs.DurationVar(&o.WarnBefore, "warn-before", 15*time.Minute, "warn this long before a session ends (0 to never warn)")
}

// ProfileTag is the build tag of binaries that can write CPU profiles
// (--cpuprofile, for the benchmark). Release builds leave runtime/pprof
// out: linked, it turns the runtime's heap profiling on in every process
// (the linker turns it off when nothing can read it), which keeps a 1.4 MB
// table of sampled call stacks, partly resident, for the daemon's life.
const ProfileTag = "mfadprofile"

// Version is the version a binary reports: the one set at build time
// (-ldflags "-X main.version=..."), else the module's.
func Version(stamped string) string {
	if stamped != "" {
		return stamped
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// LevelError is a --log-level that is not a level.
type LevelError struct{ Level string }

func (e *LevelError) Error() string {
	return "--log-level " + strconv.Quote(e.Level) + " is not one of debug, info, warn, error"
}

// Run runs the daemon until ctx ends or SIGINT or SIGTERM arrives. Its
// log goes to stderr; a file keyring's passphrase is asked on stdin when
// it is a terminal in the foreground.
func Run(ctx context.Context, o Options, stdin io.Reader, stderr io.Writer, version string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return &LevelError{Level: o.LogLevel}
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
	logger := slog.New(slog.NewTextHandler(stderr, opts))
	tuneGC(os.Getenv)
	if o.CPUProfile != "" {
		stop, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	// The file keyring's key is derived in a child process:
	// scrypt's 32 MiB would stay the daemon's high-water mark.
	keystore.DeriveInChild(selfExecutable())
	in := terminal.NewInput(stdin, stderr)
	var keys interface {
		session.KeySource
		session.Cache
		daemon.KeyAdmin
	}
	var waiting daemon.LockedKeyring
	// A keyring that answers, or none: a Secret Service locked
	// at login (its prompt seen by no one) does not answer.
	openAnswering := func() (*keystore.Store, error) {
		s, err := terminal.OpenKeystore(in)
		if err == nil {
			err = s.Probe(keyringProbe)
		}
		return s, err
	}
	store, err := openAnswering()
	if ipc.IsKind(err, ipc.KindKeyring) {
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
		if err := store.Unlock(); ipc.IsKind(err, ipc.KindKeyringLocked) {
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
	if o.Notifications {
		notifier = notify.Desktop()
	}
	if o.SetEnv {
		if err := setSessionEnv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+o.Listen+"/"); err != nil {
			logger.Warn("could not set the session's environment", "error", err.Error())
		}
	}
	inherited, err := daemon.InheritedListener()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return daemon.Run(ctx, daemon.Config{
		Listen:      o.Listen,
		Listener:    inherited,
		Profile:     o.Profile,
		Socket:      ipc.DefaultSocketPath(),
		AllowIMDSv1: o.AllowV1,
		Keys:        keys,
		Cache:       keys,
		Admin:       keys,
		Keyring:     waiting,
		OpenKeyring: openKeyring,
		Logger:      logger,
		Version:     version,
		Notifier:    notifier,
		WarnBefore:  o.WarnBefore,
	})
}

// gcPercent is the GC target the daemon runs at (GOGC). Its live heap is
// under a megabyte, so at Go's default of 100 it collects after every
// 4 MB allocated, which under load is every few hundred credential
// fetches. At 200 it collects half as often: measured on the benchmark's
// 2-core machine, 7% less CPU per credential fetch on kept-alive
// connections at 32 clients (1% on new connections), for about 4 MB more
// at the peak, which the idle trim hands back (daemon.IdleTrimAfter).
const gcPercent = 200

// tuneGC sets the daemon's GC target, unless the user set GOGC: that is
// theirs to choose.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
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
