package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/daemon"
	"github.com/mfad/mfad/ipc"
)

func newShellInitCmd() *cobra.Command {
	var start bool
	cmd := &cobra.Command{
		Use:   "shell-init bash|zsh|fish",
		Short: "Print the lines for a shell's start-up file",
		Long: `Print shell code for the shell's start-up file. It points AWS tools at
mfad: the running daemon's endpoint, or the default one
(http://` + daemon.DefaultListen + `/, or $` + daemon.ListenEnv + `) when the daemon is not running yet, as at
login before the service has started.

It also installs a prompt hook that prints one line before the prompt when
the profile this shell uses (MFAD_PROFILE in an ` + "`mfad exec`" + ` shell,
else AWS_PROFILE, else the one the container endpoint serves it, else the
one the daemon serves) becomes locked, enters its last minutes (the
daemon's --warn-before), has ended, cannot be used, or when the daemon
stops (then, once, what ` + "`mfad status`" + ` says: that it is not running, or
that another user holds its port). It says each thing once, and nothing
while all is well. The hook reads a small file the daemon keeps in its
private runtime directory: no program runs and nothing asks the daemon at
a prompt. MFAD_PROMPT_HOOK=off silences it.`,
		Example: `  echo 'eval "$(mfad shell-init bash)"' >> ~/.bashrc
  echo 'eval "$(mfad shell-init bash --start)"' >> ~/.bashrc   # no systemd user manager (WSL, containers)
  echo 'eval "$(mfad shell-init zsh)"' >> ~/.zshrc
  echo 'mfad shell-init fish | source' >> ~/.config/fish/config.fish`,
		Args:      exactArgs("SHELL"),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			endpoint := "http://" + daemon.Listen() + "/"
			if st, err := (&ipc.Client{}).Status(cmd.Context()); err == nil {
				endpoint = st.IMDSEndpoint
			}
			// Never point a shell at another user's listener: it stays
			// without the variable, and says why at every start.
			if err := checkEndpoints(endpoint); err != nil {
				return err
			}
			promptFile := filepath.Join(filepath.Dir(ipc.DefaultSocketPath()), daemon.PromptFile)
			self, err := os.Executable()
			if err != nil {
				self = "mfad"
			}
			out := cmd.OutOrStdout()
			if start {
				// Where no service manager runs the daemon: the first
				// shell of a login starts it, the others find it.
				if args[0] == "fish" {
					fmt.Fprintf(out, "%[1]s status >/dev/null 2>&1; or %[1]s serve --detach >/dev/null 2>&1\n", fishQuote(self))
				} else {
					fmt.Fprintf(out, "%[1]s status >/dev/null 2>&1 || %[1]s serve --detach >/dev/null 2>&1\n", shellQuote(self))
				}
			}
			switch args[0] {
			case "bash", "zsh", "sh":
				fmt.Fprintf(out, "export AWS_EC2_METADATA_SERVICE_ENDPOINT=%s\n", shellQuote(endpoint))
				fmt.Fprintf(out, "__mfad_prompt_file=%s\n__mfad_bin=%s\n%s", shellQuote(promptFile), shellQuote(self), posixPromptHook)
				if args[0] == "zsh" {
					fmt.Fprint(out, "autoload -Uz add-zsh-hook && add-zsh-hook precmd __mfad_prompt\n")
				} else {
					fmt.Fprint(out, bashPromptHookInstall)
				}
			case "fish":
				fmt.Fprintf(out, "set -gx AWS_EC2_METADATA_SERVICE_ENDPOINT %s\n", fishQuote(endpoint))
				fmt.Fprintf(out, "set -g __mfad_prompt_file %s\nset -g __mfad_bin %s\n%s", fishQuote(promptFile), fishQuote(self), fishPromptHook)
			default:
				return &usageError{err: fmt.Errorf("unknown shell %q: mfad knows bash, zsh and fish", args[0]), cmd: cmd.CommandPath()}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&start, "start", false, "also start the daemon (mfad serve --detach) when it is not running: for systems without a user service manager")
	return cmd
}

// posixPromptHook is the prompt hook for bash and zsh. It finds the line of
// the profile this shell uses in the daemon's prompt file (with read, a
// builtin: no program runs) and prints its text when it changed since the
// last prompt, unless it is "ok". A profile mfad does not know is none of
// its business: nothing is printed.
const posixPromptHook = `__mfad_prompt() {
  [ "${MFAD_PROMPT_HOOK:-}" = off ] && return 0
  local want="${MFAD_PROFILE:-${AWS_PROFILE:-}}" line="" name state text
  if [ -z "$want" ] && [ -n "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ]; then
    want="${AWS_CONTAINER_CREDENTIALS_FULL_URI##*/profiles/}"
  fi
  if [ -r "$__mfad_prompt_file" ]; then
    while IFS=' ' read -r name state text; do
      if [ "$name" = @served ]; then
        [ -z "$want" ] && want="$state"
      elif [ "$name" = "$want" ]; then
        line="$state $text"
        break
      fi
    done < "$__mfad_prompt_file"
  elif [ -n "${__mfad_prompt_last:-}" ]; then
    # Gone: mfad status says why, once (another user may hold the port).
    case "$__mfad_prompt_last" in
      gone\ *) line="$__mfad_prompt_last" ;;
      *) line="gone $("$__mfad_bin" status 2>&1 >/dev/null | head -n 1)" ;;
    esac
  fi
  [ "$line" = "${__mfad_prompt_last:-}" ] && return 0
  __mfad_prompt_last="$line"
  case "$line" in
    ""|ok\ *) ;;
    *) printf '%s\n' "${line#* }" >&2 ;;
  esac
  return 0
}
`

const bashPromptHookInstall = `case ";${PROMPT_COMMAND:-};" in
  *";__mfad_prompt;"*) ;;
  *) PROMPT_COMMAND="__mfad_prompt${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
esac
`

// fishPromptHook is the same hook for fish, on its fish_prompt event.
const fishPromptHook = `function __mfad_prompt --on-event fish_prompt
    test "$MFAD_PROMPT_HOOK" = off; and return 0
    set -l want $MFAD_PROFILE
    test -z "$want"; and set want $AWS_PROFILE
    if test -z "$want"; and set -q AWS_CONTAINER_CREDENTIALS_FULL_URI
        set want (string replace -r '.*/profiles/' '' -- $AWS_CONTAINER_CREDENTIALS_FULL_URI)
    end
    set -l line ""
    if test -r "$__mfad_prompt_file"
        while read -l name state text
            if test "$name" = @served
                test -z "$want"; and set want $state
            else if test "$name" = "$want"
                set line "$state $text"
                break
            end
        end < $__mfad_prompt_file
    else if test -n "$__mfad_prompt_last"
        # Gone: mfad status says why, once (another user may hold the port).
        if string match -q 'gone *' -- $__mfad_prompt_last
            set line $__mfad_prompt_last
        else
            set line "gone "("$__mfad_bin" status 2>&1 >/dev/null | head -n 1)
        end
    end
    test "$line" = "$__mfad_prompt_last"; and return 0
    set -g __mfad_prompt_last $line
    switch "$line"
        case '' 'ok *'
        case '*'
            echo (string split -m1 ' ' -- $line)[2] >&2
    end
end
`
