package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/ipc"
)

func newKeyringCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keyring",
		Short: "Show or change which keyring holds the keys",
		Long: `mfad keeps its keys in one keyring: the first that held them, recorded
in the data directory, and used by every command and the daemon from then
on, whatever else answers later. ` + "`mfad keyring`" + ` names it;
` + "`mfad keyring migrate --to BACKEND`" + ` moves every key and kept session to
another keyring: copied, each read back, recorded, and only then removed
from the first. Stop the daemon first (or restart it after): it keeps the
keyring it opened.`,
		Example: `  mfad keyring
  mfad keyring migrate --to secret-service
  mfad keyring migrate --to file`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := terminal.OpenKeystore(terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			opts, _ := keystore.EnvOptions(nil)
			how := "recorded in " + opts.RecordFile
			switch recorded := keystore.RecordedBackend(opts.RecordFile); {
			case os.Getenv(keystore.BackendEnv) != "":
				how = "chosen by " + keystore.BackendEnv
			case recorded == "":
				how = "the first that answered; recorded once a key is stored"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "keyring: %s (%s)\n", store.Backend(), how)
			return nil
		},
	}
	var to string
	migrate := &cobra.Command{
		Use:   "migrate --to BACKEND",
		Short: "Move every key to another keyring",
		Example: `  mfad keyring migrate --to secret-service
  mfad keyring migrate --to file`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return &usageError{err: fmt.Errorf("missing --to BACKEND"), cmd: cmd.CommandPath()}
			}
			in := terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr())
			src, err := terminal.OpenKeystore(in)
			if err != nil {
				return err
			}
			if err := src.Unlock(); err != nil {
				return err
			}
			var ask func(string) (string, error)
			if _, ok := in.Terminal(); ok {
				ask = in.Secret
			}
			opts, err := keystore.EnvOptions(ask)
			if err != nil {
				return err
			}
			opts.Backend = to
			dst, err := keystore.Open(opts)
			if err != nil {
				return err
			}
			n, err := keystore.Migrate(src, dst)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "moved %d item(s) from the %s keyring to the %s keyring, which holds the keys from now on\n", n, src.Backend(), dst.Backend())
			if _, err := (&ipc.Client{}).Status(cmd.Context()); err == nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "note: the running daemon still has the old keyring open: restart it (`mfad service restart`, or stop and start `mfad serve`)")
			}
			return nil
		},
	}
	migrate.Flags().StringVar(&to, "to", "", "`backend` to move the keys to: file, secret-service, keychain, wincred, pass, kwallet, keyctl")
	cmd.AddCommand(migrate)
	return cmd
}
