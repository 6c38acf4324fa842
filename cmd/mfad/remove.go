package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

func newRemoveCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "remove PROFILE",
		Short: "Delete a profile's access key from the keyring",
		Long: `Delete the access key stored for PROFILE. AWS keeps no copy of the secret:
once removed, it is gone unless you have it elsewhere. Asks for
confirmation unless --yes is given. A session the running daemon holds for
the profile ends with it, with the roles built on it, and is no longer
kept for a restart.`,
		Example: "  mfad remove old-account --yes",
		Args:    exactArgs("PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			profile := args[0]
			in := terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr())
			store, err := openKeys(cmd, in)
			if err != nil {
				return err
			}
			keys, err := store.Keys(profile)
			if err != nil {
				return err
			}
			masked := secret.MaskKeyID(keys.AccessKeyID)
			if !yes && !in.Confirm(fmt.Sprintf("remove access key %s of profile %s? AWS has no copy of its secret", masked, profile)) {
				return ipc.NewError(ipc.KindBadRequest, "nothing removed", "confirm on a terminal, or pass --yes")
			}
			// A live session would outlive its key: the daemon ends it first.
			if resp, err := (&ipc.Client{}).Lock(cmd.Context(), profile); err == nil && resp.WasLocked {
				fmt.Fprintln(cmd.OutOrStdout(), "ended the daemon's session: "+describeLock(resp))
			}
			if err := store.RemoveKeys(profile); err != nil {
				return err
			}
			// A session kept for a restart goes with the key: from the
			// keyring, and from the kernel's keyring, where the daemon
			// (running or not) keeps it too.
			if err := store.RemoveSession(profile); err != nil {
				return err
			}
			kernel := keystore.NewKernelSessions(filepath.Dir(ipc.DefaultSocketPath()))
			if err := kernel.RemoveSession(profile); err != nil && !errors.Is(err, keystore.ErrUnsupported) {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed access key %s of profile %s\n", masked, profile)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
