package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/ipc"
)

func newUnlockCmd() *cobra.Command {
	var profile, code string
	var renew bool
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Start an MFA session with a one-time code",
		Long: `Send a one-time code from your authenticator to the daemon, which trades it
and the stored access key for session credentials. The code comes from
--code, else the profile's mfa_process (which the daemon runs), else a
prompt on the terminal, else one line of stdin. "123 456" is 123456.

Without --profile, unlocks the profile the daemon serves. A profile that
is unlocked already stays as it is, and no code is spent: --renew starts a
new session anyway, for the full length.

--code puts the code where other users of this computer can see it (ps)
and in your shell's history; the prompt and stdin do not.`,
		Example: `  mfad unlock
  mfad unlock --profile work --code 123456
  mfad unlock --renew
  oathtool --totp -b "$SEED" | mfad unlock`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := &ipc.Client{}
			// Ask the daemon first: no point typing a code for a daemon
			// that is not there.
			st, err := client.Status(cmd.Context())
			if err != nil {
				return withSquatter(err, nil)
			}
			if profile == "" {
				profile = st.IMDSProfile
			}
			// One reader of stdin for the command: the passphrase and
			// the code may come on it one after the other.
			in := terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr())
			if _, interactive := in.Terminal(); interactive && code != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "mfad: note: a code given with --code is visible to every user of this computer (ps) and stays in your shell's history\nhint: run `mfad unlock` and type it at the prompt, or pipe it on stdin")
			}
			if st.KeyringLocked {
				if st, err = openDaemonKeyring(cmd, in, client, st, false); err != nil {
					return err
				}
			}
			p, ok := profileStatus(st, profile)
			if !ok {
				return awsconfig.NotFoundError(profile)
			}
			if p.State == ipc.StateUnlocked && !renew {
				fmt.Fprintf(cmd.OutOrStdout(), "profile %s is unlocked already, until %s; no code spent\n", profile, describeExpiry(p.Expiration, time.Now()))
				fmt.Fprintln(cmd.ErrOrStderr(), "hint: `mfad unlock --renew` starts a new session, for the full length")
				return nil
			}
			resp, err := unlockProfile(cmd, in, client, profile, code, false)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), describeUnlock(resp, time.Now()))
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` to unlock (default: the one the daemon serves)")
	cmd.Flags().StringVar(&code, "code", "", "the 6-digit `code` from your authenticator (visible to other users in ps; prefer the prompt or stdin)")
	cmd.Flags().BoolVar(&renew, "renew", false, "start a new session even if the profile is unlocked")
	return cmd
}

// unlockProfile unlocks profile with code; without one, with the profile's
// mfa_process, which the daemon runs; else with a code typed at a prompt
// on the terminal or, unless terminalOnly, read from stdin.
func unlockProfile(cmd *cobra.Command, in *terminal.Input, client *ipc.Client, profile, code string, terminalOnly bool) (*ipc.UnlockResponse, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
	defer cancel()
	if code == "" {
		if chain, err := awsconfig.Chain(ctx, profile); err == nil && awsconfig.MFAProcess(chain) != "" {
			return client.UnlockWithMFAProcess(ctx, profile)
		}
		if _, ok := in.Terminal(); !ok && terminalOnly {
			return nil, ipc.NewError(ipc.KindBadRequest, "profile "+profile+" is locked, and there is no terminal to ask for its code on",
				"run `mfad unlock --profile "+profile+"` first, or run this from a terminal")
		}
		var err error
		if code, err = in.Line("MFA code for profile " + profile); err != nil {
			return nil, ipc.NewError(ipc.KindBadRequest, err.Error(), "pass --code, type it in a terminal, or pipe it on stdin")
		}
	}
	return client.Unlock(ctx, profile, code)
}

// openDaemonKeyring asks for the passphrase of the daemon's file keyring
// (on the terminal, else, unless terminalOnly, a line of stdin) and sends
// it over the control socket; it returns the daemon's status after, with
// the sessions kept for a restart back.
func openDaemonKeyring(cmd *cobra.Command, in *terminal.Input, client *ipc.Client, st *ipc.Status, terminalOnly bool) (*ipc.Status, error) {
	if !st.KeyringPassphrase {
		// Waiting for the keyring to answer: asking tries it again.
		if _, err := client.OpenKeyring(cmd.Context(), ""); err != nil {
			return nil, err
		}
		return client.Status(cmd.Context())
	}
	if _, ok := in.Terminal(); !ok && terminalOnly {
		return nil, ipc.NewError(ipc.KindKeyringLocked, "the daemon's encrypted key file waits for its passphrase, and there is no terminal to ask on",
			"run `mfad unlock` in a terminal first")
	}
	passphrase, err := in.Secret("passphrase for the daemon's encrypted keys")
	if err != nil {
		return nil, ipc.NewError(ipc.KindBadRequest, err.Error(), "type the passphrase in a terminal, or pipe it on stdin before the code")
	}
	resp, err := client.OpenKeyring(cmd.Context(), passphrase)
	if err != nil {
		return nil, err
	}
	if len(resp.Restored) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "mfad: keyring open; sessions kept for %s are back\n", strings.Join(resp.Restored, ", "))
	}
	return client.Status(cmd.Context())
}

// profileStatus returns what st says of profile.
func profileStatus(st *ipc.Status, profile string) (ipc.ProfileStatus, bool) {
	for _, p := range st.Profiles {
		if p.Name == profile {
			return p, true
		}
	}
	return ipc.ProfileStatus{}, false
}

// describeUnlock says what an unlock started: the profile's own session,
// and for a role profile the MFA session it is renewed from.
func describeUnlock(resp *ipc.UnlockResponse, now time.Time) string {
	line := "unlocked profile " + resp.Profile + " until " + describeExpiry(resp.Expiration, now)
	if resp.Source != "" && resp.Source != resp.Profile {
		line += "\n  its role session is renewed while the MFA session of profile " + resp.Source +
			" lasts, until " + describeExpiry(resp.MFAExpiration, now)
	}
	return line
}

// describeExpiry shows an RFC 3339 time in local time with the time left.
func describeExpiry(rfc3339 string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return rfc3339
	}
	left := t.Sub(now).Round(time.Minute)
	in := "in less than a minute"
	if left >= time.Minute {
		in = "in " + strings.TrimSuffix(left.String(), "0s")
	}
	return fmt.Sprintf("%s (%s)", t.Local().Format("2006-01-02 15:04 MST"), in)
}
