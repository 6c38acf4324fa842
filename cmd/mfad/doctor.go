package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/ipc"
)

// finding is one thing doctor checked.
type finding struct {
	problem bool
	what    string
	fix     string
}

func newDoctorCmd() *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the set-up and say how to fix what is wrong",
		Long: `Check everything mfad depends on: the daemon, its socket, the keyring, the
profile's key and mfa_serial, and this computer's clock against STS; and
what AWS tools started from this shell will do, in the order every SDK
looks: keys or web identity in the environment, the profile AWS_PROFILE
picks (one that does not exist, keys, credential_process, SSO, or a role the
SDK cannot assume with mfad's keys), the container endpoint (another one,
or mfad's with a stale token), the metadata endpoint, and a proxy that
would catch requests to 127.0.0.1. Each problem comes with its fix; the
exit status is 1 when there is any.

Without --profile, doctor checks the profile this shell's tools will use:
the one AWS_PROFILE names, else the one the container endpoint serves
them, else the one the daemon serves on its metadata endpoint.`,
		Example: `  mfad doctor
  mfad doctor --profile prod`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			findings := diagnose(cmd, profile)
			out := cmd.OutOrStdout()
			problems := 0
			for _, f := range findings {
				mark := "ok     "
				if f.problem {
					mark = "PROBLEM"
					problems++
				}
				fmt.Fprintf(out, "%s  %s\n", mark, f.what)
				if f.problem && f.fix != "" {
					fmt.Fprintf(out, "         fix: %s\n", f.fix)
				}
			}
			if problems > 0 {
				return fmt.Errorf("%d problem(s) found", problems)
			}
			fmt.Fprintln(out, "all good")
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` to check (default: the one the daemon serves, else default)")
	return cmd
}

func diagnose(cmd *cobra.Command, profile string) []finding {
	ctx := cmd.Context()
	var fs []finding
	add := func(problem bool, what, fix string) { fs = append(fs, finding{problem, what, fix}) }

	st, err := (&ipc.Client{}).Status(ctx)
	if err != nil {
		add(true, "daemon: "+err.Error(), ipc.HintOf(err))
		st = nil
	} else {
		add(false, fmt.Sprintf("daemon: running (pid %d), serving profile %s at %s", st.PID, st.IMDSProfile, st.IMDSEndpoint), "")
		awsconfig.SetMetadataProfile(st.IMDSProfile)
	}
	for _, e := range endpointsInUse(st) {
		if err := checkEndpoints(e); err != nil {
			add(true, "endpoint: "+err.Error(), ipc.HintOf(err))
		}
	}
	shell := readShell(st)
	if profile == "" {
		profile = shell.intended
	}

	chain, chainErr := awsconfig.Chain(ctx, profile)
	root := profile
	if chainErr != nil {
		add(true, "profile "+profile+": "+chainErr.Error(), ipc.HintOf(chainErr))
	} else {
		root = chain[0].Name
		if serial := awsconfig.MFASerial(chain); serial == "" {
			e := awsconfig.NoMFASerialError(root)
			add(true, e.Message, e.Hint)
		} else {
			add(false, "profile "+profile+": MFA device "+serial, "")
		}
	}

	store, err := openKeys(cmd, terminal.NewInput(cmd.InOrStdin(), cmd.ErrOrStderr()))
	if err != nil {
		add(true, "keyring: "+err.Error(), ipc.HintOf(err))
	} else if _, err := store.Keys(root); err == nil {
		add(false, "keyring ("+store.Backend()+"): holds the key of profile "+root, "")
	} else if ipc.IsKind(err, ipc.KindNoKeys) {
		fix := "mfad add " + root
		if _, plainErr := awsconfig.ReadStaticKeys(root); plainErr == nil {
			fix = "mfad import " + root + " (the key is in " + awsconfig.CredentialsFile() + ")"
		}
		add(true, "keyring ("+store.Backend()+"): no access key is stored for profile "+root, fix)
	} else {
		add(true, "keyring: "+err.Error(), ipc.HintOf(err))
	}
	if store != nil && !strings.HasPrefix(store.Backend(), "file") {
		if opts, err := keystore.EnvOptions(nil); err == nil {
			if other := keystore.FileKeyringProfiles(opts); len(other) > 0 {
				add(false, "keyring: the file keyring ("+opts.FileKeyring()+") also holds keys, of "+strings.Join(other, ", ")+
					"; move them with `"+keystore.BackendEnv+"=file mfad keyring migrate --to "+strings.TrimSuffix(store.Backend(), ", through the running daemon")+"`", "")
			}
		}
	}

	fs = append(fs, shell.findings...)
	fs = append(fs, checkProxy()...)
	if chainErr == nil {
		fs = append(fs, checkClock(ctx, chain[0]))
	}
	return fs
}

func noProxyCovers(host string) bool {
	for _, name := range []string{"NO_PROXY", "no_proxy"} {
		for _, entry := range strings.Split(os.Getenv(name), ",") {
			if e := strings.TrimSpace(entry); e == "*" || e == host || e == "127.0.0.0/8" {
				return true
			}
		}
	}
	return false
}

// checkClock compares this computer's clock with STS's: AWS refuses
// requests signed more than 15 minutes off.
func checkClock(ctx context.Context, p *awsconfig.Profile) finding {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_STS")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if endpoint == "" {
		region := p.Region
		if region == "" {
			region = "us-east-1"
		}
		resolved, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sts.EndpointParameters{Region: &region})
		if err != nil {
			return finding{false, "clock: could not find the STS endpoint to compare with: " + err.Error(), ""}
		}
		endpoint = resolved.URI.String()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return finding{false, "clock: not checked, STS at " + endpoint + " did not answer (" + rootError(err) + ")", ""}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	theirs, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return finding{false, "clock: not checked, STS sent no date", ""}
	}
	ours := start.Add(time.Since(start) / 2)
	// The Date header counts whole seconds; past a minute, minutes say enough.
	skew := ours.Sub(theirs).Round(time.Second)
	if skew.Abs() > time.Minute {
		skew = skew.Round(time.Minute)
	}
	if skew.Abs() > 5*time.Minute {
		return finding{true, fmt.Sprintf("clock: this computer's clock is %s off STS's; AWS refuses requests more than 15 minutes off", skew.Abs()),
			"set the clock right, for example `timedatectl set-ntp true`"}
	}
	return finding{false, fmt.Sprintf("clock: within %s of STS", max(skew.Abs(), time.Second)), ""}
}

func rootError(err error) string {
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return err.Error()
}
