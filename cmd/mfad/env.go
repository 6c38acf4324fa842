package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/ipc"
)

func newEnvCmd() *cobra.Command {
	var container bool
	var profile string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the shell commands that point AWS tools at the daemon",
		Long: `Print the variable assignments that make the AWS CLI and SDKs read
credentials from the running daemon.

By default: AWS_EC2_METADATA_SERVICE_ENDPOINT, for the profile the daemon
serves on its IMDS endpoint. On Linux the daemon refuses other users'
connections to it. The endpoint ends in a slash: some clients join it to
the path without adding one.

With --container: the container-credentials endpoint, which can serve any
profile (--profile) and requires a token that only you can read. Use it
where the daemon cannot tell users apart (macOS, Windows). It sets both
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, which current SDKs read at every
refresh, and AWS_CONTAINER_AUTHORIZATION_TOKEN, for older clients such as
AWS CLI v2 2.9 that ignore the file; the token changes when the daemon
restarts, so run the eval again after a restart.`,
		Example: `  eval "$(mfad env)"
  eval "$(mfad env --container --profile work)"`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile != "" && !container {
				return &usageError{err: errors.New("--profile needs --container: the IMDS endpoint serves the daemon's profile only"), cmd: cmd.CommandPath()}
			}
			st, err := (&ipc.Client{}).Status(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !container {
				fmt.Fprintf(out, "export AWS_EC2_METADATA_SERVICE_ENDPOINT=%s\n", st.IMDSEndpoint)
				return nil
			}
			if profile == "" {
				profile = st.IMDSProfile
			}
			token, err := os.ReadFile(st.ContainerTokenFile)
			if err != nil {
				return fmt.Errorf("failed to read the daemon's token: %w", err)
			}
			fmt.Fprintf(out, "export AWS_CONTAINER_CREDENTIALS_FULL_URI=%s\n", shellQuote(st.ContainerEndpoint+profile))
			fmt.Fprintf(out, "export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s\n", shellQuote(st.ContainerTokenFile))
			fmt.Fprintf(out, "export AWS_CONTAINER_AUTHORIZATION_TOKEN=%s\n", shellQuote(strings.TrimSpace(string(token))))
			return nil
		},
	}
	cmd.Flags().BoolVar(&container, "container", false, "use the token-protected container-credentials endpoint")
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` to serve through the container endpoint (default: the daemon's)")
	return cmd
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
