package serve

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/mfad/mfad/cmd/internal/handoff"
	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/keystore"
)

// Main is mfad-daemon's command line, serve's flags, and returns its exit
// status. args are the arguments after the program's name.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, version string) int {
	if len(args) == 1 && args[0] == keystore.DeriveCommand {
		// A daemon's key derivation (keystore.DeriveInChild).
		return exitStatus(stderr, keystore.ServeDerivation(stdin, stdout))
	}
	var o Options
	fs := pflag.NewFlagSet(handoff.DaemonName, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	o.Flags(fs)
	showVersion := fs.BoolP("version", "v", false, "print the version")
	fs.Usage = func() {
		fmt.Fprintf(stdout, `%s runs the mfad daemon, as `+"`mfad serve`"+` does: mfad hands its
serve command over to it when it is installed beside mfad, so that the
process that keeps running links only the daemon. More: `+"`mfad serve --help`"+`.

Usage:
  %s [flags]

Flags:
%s`, handoff.DaemonName, handoff.DaemonName, fs.FlagUsages())
	}
	switch err := fs.Parse(args); {
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case err != nil:
		return exitStatus(stderr, usage(err))
	case fs.NArg() > 0:
		return exitStatus(stderr, usage(fmt.Errorf("too many arguments: %q", fs.Args())))
	case *showVersion:
		fmt.Fprintf(stdout, "%s version %s\n", handoff.DaemonName, version)
		return 0
	}
	// A login service installed earlier runs this binary even after mfad
	// alone was upgraded: the mfad installed last serves instead, in its
	// own process, as it does when run by hand beside this daemon.
	if mfad, why := handoff.OtherCLI(); mfad != "" {
		fmt.Fprintf(stderr, "mfad: warning: %s; `%s serve` serves instead (`mfad service install` makes the service run it)\n", why, mfad)
		err := handoff.Exec(mfad, append([]string{"serve"}, args...))
		fmt.Fprintf(stderr, "mfad: warning: could not run %s (%v): this daemon serves\n", mfad, err)
	}
	var level *LevelError
	err := Run(ctx, o, stdin, stderr, version)
	if errors.As(err, &level) {
		err = usage(err)
	}
	return exitStatus(stderr, err)
}

// usageError is a mistake on the command line.
type usageError struct{ error }

func usage(err error) error        { return usageError{err} }
func (usageError) Hint() string    { return "see `mfad serve --help`" }
func (e usageError) Unwrap() error { return e.error }

// exitStatus prints err as every mfad command does and returns the exit
// status for it.
func exitStatus(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	terminal.PrintError(stderr, err)
	return 1
}
