package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

func newAddCmd() *cobra.Command {
	var fromEnv, force bool
	cmd := &cobra.Command{
		Use:   "add PROFILE",
		Short: "Store an IAM user's access key in the keyring",
		Long: `Store the long-term access key of the IAM user behind PROFILE in the OS
keyring. The key ID and secret are asked on the terminal (the secret is not
echoed), read from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with --env,
or read as two lines from stdin.`,
		Example: `  mfad add default
  AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=... mfad add --env work`,
		Args: exactArgs("PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			profile := args[0]
			in := terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr())
			keys, err := readKeys(in, fromEnv)
			if err != nil {
				return err
			}
			store, err := openKeys(cmd, in)
			if err != nil {
				return err
			}
			old, err := store.Keys(profile)
			switch {
			case err == nil && old.AccessKeyID == keys.AccessKeyID && old.SecretAccessKey.Reveal() == keys.SecretAccessKey.Reveal():
				fmt.Fprintf(cmd.OutOrStdout(), "access key %s is already stored for profile %s\n", secret.MaskKeyID(keys.AccessKeyID), profile)
				return nil
			case err == nil && !force:
				return ipc.NewError(ipc.KindBadRequest,
					fmt.Sprintf("profile %s already has access key %s stored", profile, secret.MaskKeyID(old.AccessKeyID)),
					"add --force to replace it; the old secret cannot be recovered from AWS")
			case err != nil && !ipc.IsKind(err, ipc.KindNoKeys):
				return err
			}
			if err := store.PutKeys(profile, keys); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stored access key %s for profile %s in the %s keyring\n",
				secret.MaskKeyID(keys.AccessKeyID), profile, store.Backend())
			if p, err := awsconfig.Load(cmd.Context(), profile); err == nil && p.MFASerial == "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s\n", awsconfig.NoMFASerialError(profile).Hint)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&fromEnv, "env", false, "read the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	cmd.Flags().BoolVar(&force, "force", false, "replace a key already stored for the profile")
	return cmd
}

func readKeys(in *terminal.Input, fromEnv bool) (keystore.Keys, error) {
	if fromEnv {
		id, secretKey := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if id == "" || secretKey == "" {
			return keystore.Keys{}, ipc.NewError(ipc.KindBadRequest,
				"--env needs both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set",
				"export both, or run `mfad add PROFILE` without --env to type them")
		}
		return keystore.ParseKeys(id, secretKey)
	}
	const hint = "run it in a terminal, pipe the key ID and the secret as two lines, or use --env"
	id, err := in.Line("Access key ID")
	if err != nil {
		return keystore.Keys{}, ipc.NewError(ipc.KindBadRequest, err.Error(), hint)
	}
	secretKey, err := in.Secret("Secret access key")
	if err != nil {
		return keystore.Keys{}, ipc.NewError(ipc.KindBadRequest, err.Error(), hint)
	}
	return keystore.ParseKeys(id, secretKey)
}
