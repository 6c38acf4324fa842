package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

func newImportCmd() *cobra.Command {
	var yes, backup, force bool
	cmd := &cobra.Command{
		Use:   "import PROFILE",
		Short: "Move a profile's access key from ~/.aws/credentials into the keyring",
		Long: `Store the access key that PROFILE keeps in plain text in the shared
credentials file (~/.aws/credentials, or AWS_SHARED_CREDENTIALS_FILE) in the
keyring, then, once you confirm (or with --yes), remove it from the file.
Everything else in the file stays as it was. With --backup the file is
first copied to FILE.mfad-backup (mode 0600), which holds the key in plain
text until you delete it.`,
		Example: `  mfad import default
  mfad import work --yes`,
		Args: exactArgs("PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			profile := args[0]
			file := awsconfig.CredentialsFile()
			plain, err := awsconfig.ReadStaticKeys(profile)
			if err != nil {
				return err
			}
			if plain.SessionToken != "" {
				return ipc.NewError(ipc.KindBadRequest,
					"profile "+profile+" in "+file+" holds temporary session credentials (aws_session_token), not an IAM user's key",
					"import the profile that holds the IAM user's long-term key, or `mfad add` it")
			}
			keys, err := keystore.ParseKeys(plain.AccessKeyID, plain.SecretAccessKey)
			if err != nil {
				return err
			}
			in := terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr())
			store, err := openKeys(cmd, in)
			if err != nil {
				return err
			}
			masked := secret.MaskKeyID(keys.AccessKeyID)
			old, err := store.Keys(profile)
			switch {
			case err == nil && old.AccessKeyID != keys.AccessKeyID && !force:
				return ipc.NewError(ipc.KindBadRequest,
					fmt.Sprintf("the keyring already holds another key for profile %s (%s); nothing was changed", profile, secret.MaskKeyID(old.AccessKeyID)),
					"add --force to replace it with "+masked+" from "+file)
			case err != nil && !ipc.IsKind(err, ipc.KindNoKeys):
				return err
			}
			if err := store.PutKeys(profile, keys); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "stored access key %s for profile %s in the %s keyring\n", masked, profile, store.Backend())
			if !yes && !in.Confirm(fmt.Sprintf("remove the key of profile %s from %s now?", profile, file)) {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s still holds the key in plain text, and AWS tools read it before mfad; remove it with `mfad import --yes %s`\n", file, profile)
				return nil
			}
			backupPath, err := awsconfig.RemoveStaticKeys(profile, backup)
			if err != nil {
				return fmt.Errorf("the key is in the keyring, but could not be removed from %s: %w", file, err)
			}
			fmt.Fprintf(out, "removed the key of profile %s from %s\n", profile, file)
			if backupPath != "" {
				fmt.Fprintf(out, "the file as it was is in %s: delete it once you no longer need it\n", backupPath)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "remove the key from the file without asking")
	cmd.Flags().BoolVar(&backup, "backup", false, "copy the file before changing it")
	cmd.Flags().BoolVar(&force, "force", false, "replace another key the keyring holds for the profile")
	return cmd
}
