package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/ipc"
)

func newEnvCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print the shell commands that point AWS tools at the daemon",
		Long: `Print the variable assignment that makes the AWS CLI and SDKs read
credentials from the running daemon. The endpoint ends in a slash: some
clients join it to the path without adding one.`,
		Example: `  eval "$(mfad env)"`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := (&ipc.Client{}).Status(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "export AWS_EC2_METADATA_SERVICE_ENDPOINT=%s\n", st.IMDSEndpoint)
			return nil
		},
	}
}
