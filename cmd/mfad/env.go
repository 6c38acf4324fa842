package main

import (
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

For the profile the daemon serves on its IMDS endpoint (the default):
AWS_EC2_METADATA_SERVICE_ENDPOINT. On Linux the daemon refuses other users'
connections to it. The endpoint ends in a slash: some clients join it to
the path without adding one.

For any other profile (--profile), or with --container: the
container-credentials endpoint, which serves every profile by name and
requires a token only you can read. Use it also where the daemon cannot
tell users apart (macOS, Windows). It sets both
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, which current SDKs read at every
refresh, and AWS_CONTAINER_AUTHORIZATION_TOKEN, for older clients such as
AWS CLI v2 2.9 that ignore the file; the token changes when the daemon
restarts, so run the eval again after a restart.`,
		Example: `  eval "$(mfad env)"
  eval "$(mfad env --profile prod)"
  eval "$(mfad env --container)"`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := (&ipc.Client{}).Status(cmd.Context())
			if err != nil {
				return err
			}
			vars, err := profileEnv(st, profile, container)
			if err != nil {
				return err
			}
			for _, v := range vars {
				fmt.Fprintf(cmd.OutOrStdout(), "export %s=%s\n", v[0], shellQuote(v[1]))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&container, "container", false, "use the token-protected container-credentials endpoint")
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` the variables are for (default: the one the daemon serves)")
	return cmd
}

// profileEnv returns the variables that point AWS tools at profile's
// credentials in the daemon st describes: the IMDS endpoint for the profile
// it serves there, the container endpoint for every other one.
func profileEnv(st *ipc.Status, profile string, container bool) ([][2]string, error) {
	if profile == "" {
		profile = st.IMDSProfile
	}
	if !container && profile == st.IMDSProfile {
		return [][2]string{{"AWS_EC2_METADATA_SERVICE_ENDPOINT", st.IMDSEndpoint}}, nil
	}
	if !knownProfile(st, profile) {
		return nil, ipc.NewError(ipc.KindProfileNotFound, "the daemon knows no profile "+profile,
			"define [profile "+profile+"] in the AWS config file; `mfad status` lists the profiles")
	}
	token, err := os.ReadFile(st.ContainerTokenFile)
	if err != nil {
		return nil, fmt.Errorf("failed to read the daemon's token: %w", err)
	}
	return [][2]string{
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI", st.ContainerEndpoint + profile},
		{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", st.ContainerTokenFile},
		{"AWS_CONTAINER_AUTHORIZATION_TOKEN", strings.TrimSpace(string(token))},
	}, nil
}

func knownProfile(st *ipc.Status, profile string) bool {
	for _, p := range st.Profiles {
		if p.Name == profile {
			return true
		}
	}
	return false
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
