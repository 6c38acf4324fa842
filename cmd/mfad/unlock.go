package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/ipc"
)

func newUnlockCmd() *cobra.Command {
	var profile, code string
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Start an MFA session with a one-time code",
		Long: `Send a one-time code from your authenticator to the daemon, which trades it
and the stored access key for session credentials. The code comes from
--code, else a prompt on the terminal, else one line of stdin.

Without --profile, unlocks the profile the daemon serves.`,
		Example: `  mfad unlock
  mfad unlock --profile work --code 123456
  oathtool --totp -b "$SEED" | mfad unlock`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := &ipc.Client{}
			// Ask the daemon first: no point typing a code for a daemon
			// that is not there.
			st, err := client.Status(cmd.Context())
			if err != nil {
				return err
			}
			if profile == "" {
				profile = st.IMDSProfile
			}
			if code == "" {
				if code, err = newInput(cmd).line("MFA code for profile " + profile); err != nil {
					return ipc.NewError(ipc.KindBadRequest, err.Error(), "pass --code, type it in a terminal, or pipe it on stdin")
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			resp, err := client.Unlock(ctx, profile, code)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), describeUnlock(resp, time.Now()))
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` to unlock (default: the one the daemon serves)")
	cmd.Flags().StringVar(&code, "code", "", "the 6-digit `code` from your authenticator")
	return cmd
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
