package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/mdp/qrterminal/v3"
	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon"
	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/onboard"
	"github.com/mfad/mfad/ipc"
)

func newInitCmd() *cobra.Command {
	var profile, policyName, listen string
	var yes, showSeed bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Set up MFA from scratch: key, MFA device, enforcement, first unlock",
		Long: `Walk through everything that comes before daily use, one confirmed step at
a time, each safe to run again:

 1. the IAM user's access key into the keyring (from ~/.aws/credentials, or typed);
 2. check that the key is an IAM user's (not root's, not temporary);
 3. an MFA device: the user's own, or a new virtual one shown as a QR code
    for your authenticator app and enabled with two codes in a row, written
    to the profile as mfa_serial;
 4. enforcement: a permissions boundary (policy ` + onboard.DefaultPolicyName + `) that allows
    everything only with MFA, keeping what it takes to manage your own MFA;
 5. the daemon started if needed, the first unlock, and a call through the
    MFA session.

--yes confirms every step; codes are still read (from stdin without a
terminal). Nothing is changed without a confirmation, and a failed step
leaves the account and the files as they were.`,
		Example: `  mfad init
  mfad init --profile work --show-secret`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr())
			store, err := openKeys(cmd, in)
			if err != nil {
				return err
			}
			ui := &initUI{cmd: cmd, in: in, yes: yes, showSeed: showSeed}
			res, err := onboard.Run(cmd.Context(), onboard.Options{Profile: profile, PolicyName: policyName, Store: store, UI: ui})
			if err != nil {
				return err
			}
			if res.MFASerial == "" {
				return nil
			}
			return finishInit(cmd, ui, profile, listen, cmd.Flags().Changed("listen"))
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "default", "`profile` to set up")
	cmd.Flags().StringVar(&listen, "listen", daemon.Listen(), "loopback `address` of the daemon's endpoint, if init starts it (the default one, when another user holds it: a free port)")
	cmd.Flags().StringVar(&policyName, "policy-name", onboard.DefaultPolicyName, "`name` of the permissions boundary policy")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "confirm every step")
	cmd.Flags().BoolVar(&showSeed, "show-secret", false, "also print a new device's secret, for password managers")
	return cmd
}

// initUI is onboard.UI on the terminal, or on pipes.
type initUI struct {
	cmd      *cobra.Command
	in       *terminal.Input
	yes      bool
	showSeed bool
}

func (u *initUI) Say(format string, args ...any) {
	fmt.Fprintf(u.cmd.OutOrStdout(), format+"\n", args...)
}

func (u *initUI) Confirm(question string) bool {
	if u.yes {
		fmt.Fprintf(u.cmd.OutOrStdout(), "%s yes (--yes)\n", question)
		return true
	}
	return u.in.Confirm(question)
}

func (u *initUI) Ask(prompt string) (string, error)       { return u.in.Line(prompt) }
func (u *initUI) AskSecret(prompt string) (string, error) { return u.in.Secret(prompt) }

func (u *initUI) ShowQR(uri string) {
	qrterminal.GenerateWithConfig(uri, qrterminal.Config{
		Level: qrterminal.L, Writer: u.cmd.OutOrStdout(), HalfBlocks: true,
		BlackChar: qrterminal.BLACK_BLACK, WhiteBlackChar: qrterminal.WHITE_BLACK,
		WhiteChar: qrterminal.WHITE_WHITE, BlackWhiteChar: qrterminal.BLACK_WHITE, QuietZone: 2,
	})
}

func (u *initUI) ShowSeed() bool {
	if u.showSeed {
		return true
	}
	if u.yes {
		return false
	}
	return u.in.Confirm("Also show the secret as text (for password managers)?")
}

// finishInit starts the daemon if needed, unlocks, and calls STS through
// the MFA session to show it works.
func finishInit(cmd *cobra.Command, ui *initUI, profile, listen string, chosen bool) error {
	ctx := cmd.Context()
	client := &ipc.Client{}
	st, err := client.Status(ctx)
	var notRunning *ipc.NotRunningError
	if errors.As(err, &notRunning) {
		if !ui.Confirm("The daemon is not running. Start it now (for good: `mfad service install`)?") {
			ui.Say("Done. Start the daemon with `mfad serve` or `mfad service install`, then run `mfad unlock`.")
			return nil
		}
		if err := daemon.CheckLoopback(listen); err != nil {
			return err
		}
		if err := daemon.CheckHolder(listen); err != nil {
			if chosen || listen != daemon.DefaultListen {
				return err
			}
			// The default port is another user's: any free one serves,
			// and `mfad env` points the shell at it.
			ui.Say("%v. The daemon listens on a free port instead.", err)
			listen = "127.0.0.1:0"
		}
		if st, _, err = startDaemon(ctx, client, "--profile", profile, "--listen", listen); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	unlocked := false
	for _, p := range st.Profiles {
		unlocked = unlocked || (p.Name == profile && p.State == ipc.StateUnlocked)
	}
	if !unlocked {
		code, err := ui.Ask("MFA code to unlock (wait for a new one)")
		if err != nil {
			return err
		}
		resp, err := client.Unlock(ctx, profile, code)
		if err != nil {
			return err
		}
		ui.Say("Unlocked profile %s until %s.", profile, describeExpiry(resp.Expiration, time.Now()))
	}
	arn, err := callerThroughMFA(ctx, st, profile)
	if err != nil {
		return fmt.Errorf("unlocked, but a call through the MFA session failed: %w", err)
	}
	ui.Say("Checked: STS answers the MFA session as %s. MFA is in force; point your shell at mfad with: eval \"$(mfad env --profile %s)\"", arn, profile)
	return nil
}

// callerThroughMFA calls sts:GetCallerIdentity with the credentials the
// daemon serves for profile, as any SDK would get them.
func callerThroughMFA(ctx context.Context, st *ipc.Status, profile string) (string, error) {
	p, err := awsconfig.Load(ctx, profile)
	if err != nil {
		return "", err
	}
	provider := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.New(imds.Options{Endpoint: st.IMDSEndpoint}) })
	cfg, err := p.SDKConfig(ctx, aws.NewCredentialsCache(provider))
	if err != nil {
		return "", err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}
