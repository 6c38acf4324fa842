package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
)

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the profiles that have an access key stored",
		Example: "  mfad list",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := openKeys(cmd, terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			profiles, err := store.Profiles()
			if err != nil {
				return err
			}
			if len(profiles) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no access keys are stored in the %s keyring; add one with `mfad add PROFILE`\n", store.Backend())
				noteOtherKeyring(cmd, store.Backend())
				return nil
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "keyring: %s\n", store.Backend())
			noteOtherKeyring(cmd, store.Backend())
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PROFILE\tACCESS KEY")
			for _, p := range profiles {
				keys, err := store.Keys(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%s\n", p, secret.MaskKeyID(keys.AccessKeyID))
			}
			return w.Flush()
		},
	}
}

// noteOtherKeyring says when the file keyring holds keys while another
// keyring is in use: keys stored there earlier are not lost, and can be
// moved.
func noteOtherKeyring(cmd *cobra.Command, backend string) {
	if strings.HasPrefix(backend, "file") {
		return
	}
	opts, err := keystore.EnvOptions(nil)
	if err != nil {
		return
	}
	if other := keystore.FileKeyringProfiles(opts); len(other) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: the file keyring (%s) also holds keys, of %s; move them with `%s=file mfad keyring migrate --to %s`\n",
			opts.FileKeyring(), strings.Join(other, ", "), keystore.BackendEnv, strings.TrimSuffix(backend, ", through the running daemon"))
	}
}
