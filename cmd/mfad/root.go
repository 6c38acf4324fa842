package main

// Output rules, for every command:
//   - results go to stdout; prompts, notes and errors to stderr;
//   - an error is printed once, by run, as "mfad: message" (lowercase, no
//     final period), followed by what to do on lines of its own,
//     "hint: ...";
//   - a secret is never printed: access key IDs appear masked, secret keys
//     and codes not at all.

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/serve"
	"github.com/mfad/mfad/cmd/internal/terminal"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func mfadVersion() string { return serve.Version(version) }

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		terminal.PrintError(stderr, err)
		return 1
	}
	return 0
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "mfad",
		Short: "MFA-backed AWS credentials for every CLI and SDK, from one daemon",
		Long: `mfad keeps your IAM user's access key in the OS keyring, trades it and a
one-time MFA code for temporary session credentials, and serves those on
a local endpoint that the AWS CLI and every AWS SDK read like the EC2
instance metadata service.

Getting started:
  mfad add default                  # store the IAM user's access key
  mfad serve --detach               # start the daemon (or: mfad service install)
  eval "$(mfad env)"                # point AWS tools at it
  mfad unlock                       # type the code from your authenticator
  aws sts get-caller-identity       # MFA-backed, no wrapper needed`,
		Version:       mfadVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err: err, cmd: cmd.CommandPath()}
	})
	root.AddCommand(
		newAddCmd(), newListCmd(), newRemoveCmd(),
		newServeCmd(), newUnlockCmd(), newLockCmd(), newStatusCmd(), newEnvCmd(), newExecCmd(), newShellInitCmd(), newImportCmd(), newDoctorCmd(), newServiceCmd(), newInitCmd(), newKeyringCmd(),
	)
	completeProfiles(root)
	return root
}

// usageError is a mistake on the command line.
type usageError struct {
	err error
	cmd string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Hint() string  { return "see `" + e.cmd + " --help`" }

// exactArgs is cobra.ExactArgs with an error that names what is missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(args) < len(names) {
			return &usageError{err: fmt.Errorf("missing %s", names[len(args)]), cmd: cmd.CommandPath()}
		}
		return &usageError{err: fmt.Errorf("too many arguments: %q", args[len(names):]), cmd: cmd.CommandPath()}
	}
}
