package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/ipc"
)

func newLockCmd() *cobra.Command {
	var profile string
	var all bool
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "End an MFA session now",
		Long: `Make the daemon forget the MFA session of a profile's IAM user, and with it
the sessions of every role built on that user: one code unlocked them all,
so they lock together. Clients get none until the next ` + "`mfad unlock`" + `.
It says which IAM user's profile and which roles it locked.

--all locks every profile, and makes the daemon forget the file keyring it
was given the passphrase of: the next ` + "`mfad unlock`" + ` asks for it again.`,
		Example: `  mfad lock
  mfad lock --profile prod
  mfad lock --all                 # leaving the desk`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := &ipc.Client{}
			if all {
				return lockAll(cmd, client)
			}
			resp, err := client.Lock(cmd.Context(), profile)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), describeLock(resp))
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` to lock (default: the one the daemon serves)")
	cmd.Flags().BoolVar(&all, "all", false, "lock every profile, and forget the keyring's passphrase")
	return cmd
}

// lockAll locks every IAM user's session (and so every role) and closes a
// keyring the daemon opened with a passphrase.
func lockAll(cmd *cobra.Command, client *ipc.Client) error {
	st, err := client.Status(cmd.Context())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	for _, p := range st.Profiles {
		if p.Source != "" || p.State != ipc.StateUnlocked {
			continue
		}
		resp, err := client.Lock(cmd.Context(), p.Name)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, describeLock(resp))
	}
	resp, err := client.CloseKeyring(cmd.Context())
	if err != nil {
		return err
	}
	if resp.Closed {
		fmt.Fprintln(out, "the daemon forgot the keyring's passphrase: the next `mfad unlock` asks for it")
	}
	fmt.Fprintln(out, "every profile is locked")
	return nil
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
