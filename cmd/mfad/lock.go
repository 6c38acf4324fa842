package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/ipc"
)

func newLockCmd() *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "End an MFA session now",
		Long:  "Make the daemon forget a profile's session credentials, with the roles built on it. Clients get none until the next `mfad unlock`.",
		Example: `  mfad lock
  mfad lock --profile prod`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := (&ipc.Client{}).Lock(cmd.Context(), profile)
			if err != nil {
				return err
			}
			if resp.WasLocked {
				fmt.Fprintf(cmd.OutOrStdout(), "locked profile %s\n", resp.Profile)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "profile %s had no session; it stays locked\n", resp.Profile)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` to lock (default: the one the daemon serves)")
	return cmd
}
