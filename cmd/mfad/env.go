package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/privatefile"
	"github.com/mfad/mfad/imds"
	"github.com/mfad/mfad/ipc"
)

// routeVars are every variable that points AWS tools at credentials from
// an endpoint. `mfad env` sets one route and unsets the rest, so that
// evaluating its output switches a shell, whatever it pointed at before.
var routeVars = []string{
	"AWS_EC2_METADATA_SERVICE_ENDPOINT",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
}

func newEnvCmd() *cobra.Command {
	var container bool
	var profile, shell string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the shell commands that point AWS tools at the daemon",
		Long: `Print the shell commands that make the AWS CLI and SDKs read credentials
from the running daemon. Evaluating them switches the shell: they set one
way to reach the daemon and unset the other, so ` + "`mfad env`" + ` after
` + "`mfad env --profile prod`" + ` (or the other way round) leaves exactly one.

For the profile the daemon serves on its IMDS endpoint (the default):
AWS_EC2_METADATA_SERVICE_ENDPOINT. On Linux the daemon refuses other users'
connections to it. The endpoint ends in a slash: some clients join it to
the path without adding one.

For any other profile (--profile), or with --container: the
container-credentials endpoint, which serves every profile by name and
requires a token only you can read. Use it also where the daemon cannot
tell users apart (macOS, Windows). It sets both
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, which current SDKs read at every
refresh, and AWS_CONTAINER_AUTHORIZATION_TOKEN, for older clients such as
AWS CLI v2 2.9 that ignore the file; the token changes when the daemon
restarts, so run the eval again after a restart.

The syntax is fish's when $SHELL is fish, else POSIX (bash, zsh);
--shell chooses. Variables in this shell that AWS tools would use before
the daemon (AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity) are named on
stderr; ` + "`mfad doctor`" + ` says more.`,
		Example: `  eval "$(mfad env)"
  eval "$(mfad env --profile prod)"
  eval "$(mfad env --container)"
  mfad env --shell fish | source`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			dialect, err := pickShell(shell)
			if err != nil {
				return &usageError{err: err, cmd: cmd.CommandPath()}
			}
			st, err := (&ipc.Client{}).Status(cmd.Context())
			if err != nil {
				return withSquatter(err, nil)
			}
			if err := checkEndpoints(st.IMDSEndpoint); err != nil {
				return err
			}
			vars, err := profileEnv(st, profile, container)
			if err != nil {
				return err
			}
			set := map[string]bool{}
			for _, v := range vars {
				set[v[0]] = true
			}
			var unset []string
			for _, name := range routeVars {
				if !set[name] {
					unset = append(unset, name)
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprint(out, dialect.unset(unset))
			for _, v := range vars {
				fmt.Fprint(out, dialect.export(v[0], v[1]))
			}
			warnShadowingVars(cmd.ErrOrStderr())
			return nil
		},
	}
	cmd.Flags().BoolVar(&container, "container", false, "use the token-protected container-credentials endpoint")
	cmd.Flags().StringVar(&profile, "profile", "", "`profile` the variables are for (default: the one the daemon serves)")
	cmd.Flags().StringVar(&shell, "shell", "", "syntax of the output: `sh` (bash, zsh) or fish (default: from $SHELL)")
	return cmd
}

// shellDialect writes variable assignments in one shell's syntax.
type shellDialect struct {
	export func(name, value string) string
	unset  func(names []string) string
}

var (
	posixShell = shellDialect{
		export: func(name, value string) string { return "export " + name + "=" + shellQuote(value) + "\n" },
		unset: func(names []string) string {
			if len(names) == 0 {
				return ""
			}
			return "unset " + strings.Join(names, " ") + "\n"
		},
	}
	fishShell = shellDialect{
		export: func(name, value string) string { return "set -gx " + name + " " + fishQuote(value) + "\n" },
		unset: func(names []string) string {
			if len(names) == 0 {
				return ""
			}
			// set -e fails for a variable that is not set: say nothing of it.
			return "set -e " + strings.Join(names, " ") + " 2>/dev/null; true\n"
		},
	}
)

// pickShell returns the dialect named, or $SHELL's when none is.
func pickShell(name string) (shellDialect, error) {
	if name == "" {
		name = "sh"
		if filepath.Base(os.Getenv("SHELL")) == "fish" {
			name = "fish"
		}
	}
	switch name {
	case "sh", "bash", "zsh", "ksh", "dash":
		return posixShell, nil
	case "fish":
		return fishShell, nil
	}
	return shellDialect{}, fmt.Errorf("unknown shell %q: mfad writes for sh (bash, zsh) and fish", name)
}

// shadowingVars are variables with which AWS tools find credentials, or
// pick a profile, before they ask the daemon.
var shadowingVars = []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"}

// warnShadowingVars names on w the shadowing variables this shell has.
func warnShadowingVars(w io.Writer) {
	var found []string
	for _, name := range shadowingVars {
		if os.Getenv(name) != "" {
			found = append(found, name)
		}
	}
	if len(found) > 0 {
		fmt.Fprintf(w, "mfad: note: this shell has %s, which AWS tools use before mfad\nhint: run `mfad doctor` to see what they will do, or `mfad exec PROFILE` for a clean one\n",
			strings.Join(found, ", "))
	}
}

// profileEnv returns the variables that point AWS tools at profile's
// credentials in the daemon st describes: the IMDS endpoint for the profile
// it serves there, the container endpoint for every other one.
func profileEnv(st *ipc.Status, profile string, container bool) ([][2]string, error) {
	if profile == "" {
		profile = st.IMDSProfile
	}
	if !container && profile == st.IMDSProfile {
		return [][2]string{{"AWS_EC2_METADATA_SERVICE_ENDPOINT", st.IMDSEndpoint}}, nil
	}
	if _, ok := profileStatus(st, profile); !ok {
		return nil, awsconfig.NotFoundError(profile)
	}
	token, err := os.ReadFile(st.ContainerTokenFile)
	if err != nil {
		return nil, fmt.Errorf("failed to read the daemon's token: %w", err)
	}
	return [][2]string{
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI", st.ContainerEndpoint + profile},
		{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", st.ContainerTokenFile},
		{"AWS_CONTAINER_AUTHORIZATION_TOKEN", strings.TrimSpace(string(token))},
	}, nil
}

// profileOnlyEnv is profileEnv for a command that must reach profile and
// nothing else (mfad exec): always the container endpoint, with a token
// that the endpoint takes for this profile alone, in a file of its own.
func profileOnlyEnv(st *ipc.Status, profile string) ([][2]string, error) {
	vars, err := profileEnv(st, profile, true)
	if err != nil {
		return nil, err
	}
	token := imds.ProfileToken(vars[2][1], profile)
	file := filepath.Join(filepath.Dir(st.ContainerTokenFile), "exec-"+url.PathEscape(profile)+".token")
	if err := privatefile.Write(file, []byte(token)); err != nil {
		return nil, fmt.Errorf("failed to write the command's token: %w", err)
	}
	vars[1][1], vars[2][1] = file, token
	return vars, nil
}

// fishQuote quotes s for fish, where a backslash escapes a quote or itself
// inside single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
