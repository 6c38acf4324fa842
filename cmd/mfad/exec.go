package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/harden"
	"github.com/mfad/mfad/daemon/privatefile"
	"github.com/mfad/mfad/ipc"
)

// conflictingVars pick credentials, or a profile, ahead of what mfad hands
// a command in every SDK's chain: environment keys, web identity, the
// profile and the files it is read from, the container and metadata
// endpoints. A command run by exec has none of them; exec sets its own.
var conflictingVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
	"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CREDENTIAL_FILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED",
}

func newExecCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exec PROFILE [-- COMMAND [ARGS...]]",
		Short: "Run a command with a profile's credentials",
		Long: `Run COMMAND as PROFILE: with the variables that give it PROFILE's
credentials from the daemon's container endpoint, with a token that
reaches PROFILE alone (not the user's other profiles), and the profile's
region. Nothing that every SDK would use first reaches
it: variables with keys, web identity or another profile are removed; the
credentials file is hidden (AWS_SHARED_CREDENTIALS_FILE=` + os.DevNull + `); and the
config file it reads is a copy of yours whose default profile is PROFILE's
settings without credentials, so keys, credential_process, SSO or a role
in your default profile cannot take over. Without a command, starts $SHELL
with MFAD_PROFILE set, for a prompt to show.

A locked profile is unlocked first: with its mfa_process, else with a code
asked for on the terminal. Without a terminal, exec fails and says to run
` + "`mfad unlock`" + ` first. The command's exit status is mfad's; signals reach it
directly, as mfad becomes the command.`,
		Example: `  mfad exec prod -- aws s3 ls
  mfad exec prod                  # a shell for prod; exit to leave`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{err: fmt.Errorf("missing PROFILE"), cmd: cmd.CommandPath()}
			}
			if dash := cmd.ArgsLenAtDash(); dash > 1 || (dash == -1 && len(args) > 1) {
				return &usageError{err: fmt.Errorf("put the command after --: mfad exec %s -- %s", args[0], strings.Join(args[1:], " ")), cmd: cmd.CommandPath()}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			profile, command := args[0], args[1:]
			client := &ipc.Client{}
			st, err := client.Status(cmd.Context())
			if err != nil {
				return err
			}
			in := terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr())
			if st.KeyringLocked {
				if st, err = openDaemonKeyring(cmd, in, client, st, true); err != nil {
					return err
				}
			}
			if err := readyToRun(cmd, in, client, st, profile); err != nil {
				return err
			}
			p, err := awsconfig.Load(cmd.Context(), profile)
			if err != nil {
				return err
			}
			vars, err := profileOnlyEnv(st, profile)
			if err != nil {
				return err
			}
			config, err := isolatedConfigFile(st, profile)
			if err != nil {
				return err
			}
			env := withoutVars(harden.ChildEnv(os.Environ()), conflictingVars...)
			env = append(env, "AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
			for _, v := range vars {
				env = append(env, v[0]+"="+v[1])
			}
			if p.Region != "" && os.Getenv("AWS_REGION") == "" {
				env = append(withoutVars(env, "AWS_REGION", "AWS_DEFAULT_REGION"), "AWS_REGION="+p.Region, "AWS_DEFAULT_REGION="+p.Region)
			}
			env = append(withoutVars(env, "MFAD_PROFILE"), "MFAD_PROFILE="+profile)
			if len(command) == 0 {
				shell := os.Getenv("SHELL")
				if shell == "" {
					shell = "/bin/sh"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "mfad: starting %s with profile %s; exit it to return\n", shell, profile)
				command = []string{shell}
			}
			path, err := exec.LookPath(command[0])
			if err != nil {
				return ipc.NewError(ipc.KindBadRequest, "cannot run "+command[0]+": "+err.Error(), "check the command's name and PATH")
			}
			return execCommand(path, command, env)
		},
	}
	return cmd
}

// readyToRun makes sure profile has a session before a command runs as
// it: a locked profile is unlocked with its mfa_process, or a code typed
// on the terminal, as aws-vault exec does; without either, exec fails
// rather than run a command that cannot authenticate.
func readyToRun(cmd *cobra.Command, in *terminal.Input, client *ipc.Client, st *ipc.Status, profile string) error {
	p, ok := profileStatus(st, profile)
	switch {
	case !ok:
		return awsconfig.NotFoundError(profile)
	case p.State == ipc.StateUnlocked:
		return nil
	case p.State == ipc.StatePending && p.LastError == "":
		return nil // the daemon is assuming the role right now
	case p.State == ipc.StatePending || (p.Source != "" && p.LastError != ""):
		return ipc.NewError(ipc.KindBadRequest, "profile "+profile+" cannot be used: "+p.LastError, "`mfad status` shows every profile; fix the profile, or unlock again with `mfad unlock --profile "+profile+" --renew`")
	}
	resp, err := unlockProfile(cmd, in, client, profile, "", true)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "mfad: "+describeUnlock(resp, time.Now()))
	return nil
}

// isolatedConfigFile writes the config file a command run as profile reads
// (awsconfig.IsolatedConfig) next to the daemon's socket, in a directory
// only the user can enter, and returns its path. One per profile: a later
// exec of the same profile rewrites it whole.
func isolatedConfigFile(st *ipc.Status, profile string) (string, error) {
	data, err := awsconfig.IsolatedConfig(profile)
	if err != nil {
		return "", err
	}
	dir, err := ipc.StateDir(ipc.DefaultSocketPath())
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "exec-"+url.PathEscape(profile)+".config")
	if err := privatefile.Write(path, data); err != nil {
		return "", fmt.Errorf("failed to write the config file for the command: %w", err)
	}
	return path, nil
}

// withoutVars returns env without the named variables.
func withoutVars(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			if name == n {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}
