package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/ipc"
)

func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether each profile is locked or unlocked",
		Long: `Show the daemon's endpoint, each profile of the config file with the IAM
user it is built on, its state and expiry, and counts of what the daemon
served. When this shell's AWS tools would not get mfad's credentials for
the profile it picks (AWS_PROFILE naming no profile or a role the SDK
cannot assume, keys or SSO first in the chain…), it says so on stderr;
` + "`mfad doctor`" + ` says how to fix it.`,
		Example: `  mfad status
  mfad status --json | jq '.profiles[] | select(.state == "unlocked") | .name'`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := (&ipc.Client{}).Status(cmd.Context())
			if err != nil {
				return withSquatter(err, nil)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
				return withSquatter(nil, st)
			}
			fmt.Fprintf(out, "mfad %s (pid %d) serves profile %s at %s\n\n", st.Version, st.PID, st.IMDSProfile, st.IMDSEndpoint)
			if st.KeyringLocked {
				fmt.Fprintf(out, "keyring: locked, waiting for %s\n\n", st.KeyringWaiting)
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PROFILE\tSOURCE\tSTATE\tEXPIRES\tLAST UNLOCK\tMFA SESSION LEFT")
			for _, p := range st.Profiles {
				expires, last := "-", "-"
				if p.Expiration != "" {
					expires = describeExpiry(p.Expiration, time.Now())
				}
				if t, err := time.Parse(time.RFC3339, p.LastUnlock); err == nil {
					last = t.Local().Format("2006-01-02 15:04")
				}
				source := "-"
				if p.Source != "" {
					source = p.Source
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, source, p.State, expires, last,
					describeLeft(p.MFAExpiration, time.Duration(st.WarnBeforeSeconds)*time.Second, time.Now()))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			m := st.IMDS
			fmt.Fprintf(out, "\ncredentials served %d, refused while locked %d; refused requests: %d unauthorized, %d by security checks, %d from other users\n",
				m.CredentialsServed, m.CredentialsLocked, m.Unauthorized, m.Refused, m.RefusedOtherUser)
			for _, p := range st.Profiles {
				if p.State != ipc.StateUnlocked && p.LastError != "" {
					fmt.Fprintf(out, "\n%s: last unlock failed: %s\n", p.Name, p.LastError)
				}
			}
			warnAboutShell(cmd.ErrOrStderr(), st)
			return withSquatter(nil, st)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

// warnAboutShell names, on w, what would keep this shell's AWS tools from
// the credentials mfad serves, as doctor finds it.
func warnAboutShell(w io.Writer, st *ipc.Status) {
	shell := readShell(st)
	n := 0
	for _, f := range shell.findings {
		if f.problem {
			fmt.Fprintf(w, "mfad: warning: %s\n", f.what)
			n++
		}
	}
	if n > 0 {
		fmt.Fprintln(w, "hint: `mfad doctor` says how to fix it")
	}
}

// describeLeft says how long an MFA session ending at rfc3339 has left,
// and marks one that has entered its warning time.
func describeLeft(rfc3339 string, warnBefore time.Duration, now time.Time) string {
	end, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return "-"
	}
	left := end.Sub(now)
	text := "less than a minute"
	if left >= time.Minute {
		text = strings.TrimSuffix(left.Round(time.Minute).String(), "0s")
	}
	if warnBefore > 0 && left <= warnBefore {
		text += ", ending: mfad unlock --renew"
	}
	return text
}
