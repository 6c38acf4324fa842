package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/daemon"
	"github.com/mfad/mfad/ipc"
)

func newShellInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "shell-init bash|zsh|fish",
		Short: "Print the line for a shell's start-up file",
		Long: `Print shell code that points AWS tools at mfad, for the shell's start-up
file. It uses the running daemon's endpoint, or the default one
(http://` + daemon.DefaultListen + `/) when the daemon is not running yet, as at
login before the service has started.`,
		Example: `  echo 'eval "$(mfad shell-init bash)"' >> ~/.bashrc
  echo 'eval "$(mfad shell-init zsh)"' >> ~/.zshrc
  echo 'mfad shell-init fish | source' >> ~/.config/fish/config.fish`,
		Args:      exactArgs("SHELL"),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			endpoint := "http://" + daemon.DefaultListen + "/"
			if st, err := (&ipc.Client{}).Status(cmd.Context()); err == nil {
				endpoint = st.IMDSEndpoint
			}
			out := cmd.OutOrStdout()
			switch args[0] {
			case "bash", "zsh", "sh":
				fmt.Fprintf(out, "export AWS_EC2_METADATA_SERVICE_ENDPOINT=%s\n", shellQuote(endpoint))
			case "fish":
				fmt.Fprintf(out, "set -gx AWS_EC2_METADATA_SERVICE_ENDPOINT %s\n", fishQuote(endpoint))
			default:
				return &usageError{err: fmt.Errorf("unknown shell %q: mfad knows bash, zsh and fish", args[0]), cmd: cmd.CommandPath()}
			}
			return nil
		},
	}
}
