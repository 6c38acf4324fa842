package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/ipc"
)

func newLockCmd() *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "End an MFA session now",
		Long: `Make the daemon forget the MFA session of a profile's IAM user, and with it
the sessions of every role built on that user: one code unlocked them all,
so they lock together. Clients get none until the next ` + "`mfad unlock`" + `.
It says which IAM user's profile and which roles it locked.`,
		Example: `  mfad lock
  mfad lock --profile prod`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := (&ipc.Client{}).Lock(cmd.Context(), profile)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), describeLock(resp))
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` to lock (default: the one the daemon serves)")
	return cmd
}

// describeLock says what a lock did: which IAM user's MFA session, and
// which roles went with it.
func describeLock(resp *ipc.LockResponse) string {
	what := "profile " + resp.Source
	if len(resp.Roles) > 0 {
		what += " and its roles " + strings.Join(resp.Roles, ", ")
	}
	via := ""
	if resp.Profile != resp.Source {
		via = "profile " + resp.Profile + " is built on " + resp.Source + ": "
	}
	if !resp.WasLocked {
		return via + what + " had no session; nothing changed"
	}
	return via + "locked the MFA session of " + what
}
