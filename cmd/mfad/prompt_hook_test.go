//go:build unix

package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPromptHook runs real interactive bash, zsh and fish on a terminal,
// with the lines `mfad shell-init` prints, and checks what appears before
// their prompts: the profile's state once per change, nothing while all is
// well, nothing when MFAD_PROMPT_HOOK=off.
func TestPromptHook(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	shells := []struct {
		name        string
		argv        []string
		init, off   string
		on          string
		mfadSession time.Duration // the session's length: zsh's is in its warning time
	}{
		{"bash", []string{"bash", "--norc", "--noprofile", "-i"}, `eval "$("$MFAD" shell-init bash)"`, "export MFAD_PROMPT_HOOK=off", "unset MFAD_PROMPT_HOOK", 0},
		{"zsh", []string{"zsh", "-f", "-i"}, `eval "$("$MFAD" shell-init zsh)"`, "export MFAD_PROMPT_HOOK=off", "unset MFAD_PROMPT_HOOK", 10 * time.Minute},
		{"fish", []string{"fish", "--no-config", "-i"}, `"$MFAD" shell-init fish | source`, "set -gx MFAD_PROMPT_HOOK off", "set -e MFAD_PROMPT_HOOK", 0},
	}
	const (
		locked  = "mfad: profile default is locked; run `mfad unlock`"
		ending  = "mfad: the MFA session of profile default ends at "
		stopped = "mfad: failed to connect to mfad at "
	)
	for _, sh := range shells {
		t.Run(sh.name, func(t *testing.T) {
			d := w.serve()
			env := append(w.shellEnv("AWS_CONFIG_FILE="+filepath.Join(w.home, "aws-config"), "MFAD="+mfadBin, "TERM=dumb", "PS1=$ "),
				"SHELL=/bin/"+sh.name, "fish_greeting=")
			term := w.startTerminal(env, sh.argv...)
			step := 0
			// run types a command, then waits until it has run and the
			// prompt after it has been drawn, hook included.
			run := func(command string) {
				step++
				term.typeLine(command)
				term.typeLine(fmt.Sprintf("echo step-%d | tr a-z A-Z", step))
				term.expect(fmt.Sprintf("STEP-%d", step))
			}
			count := func(s string) int { return strings.Count(term.output(), s) }
			check := func(what string, wantLocked, wantEnding, wantStopped int) {
				t.Helper()
				if count(locked) != wantLocked || count(ending) != wantEnding || count(stopped) != wantStopped {
					t.Fatalf("%s: %d locked, %d ending, %d stopped lines, want %d, %d, %d; the terminal shows:\n%s",
						what, count(locked), count(ending), count(stopped), wantLocked, wantEnding, wantStopped, term.output())
				}
			}

			run(sh.init)
			check("after shell-init, locked", 1, 0, 0)
			run("true")
			check("no change", 1, 0, 0)
			w.sts.SetSessionLifetime(sh.mfadSession)
			run(`"$MFAD" unlock --code ` + w.freshCode())
			wantEnding := 0
			if sh.mfadSession != 0 {
				wantEnding = 1
			}
			check("after unlock", 1, wantEnding, 0)
			if status := w.mustMfad("status"); strings.Contains(status, "ending: mfad unlock --renew") != (wantEnding == 1) {
				t.Fatalf("status does not say whether the session is ending:\n%s", status)
			}
			run("true")
			check("no change", 1, wantEnding, 0)
			run(`"$MFAD" lock`)
			check("after lock", 2, wantEnding, 0)

			run(sh.off)
			d.stop(t)
			run("true")
			check("hook off, daemon stopped", 2, wantEnding, 0)
			run(sh.on)
			check("hook on again", 2, wantEnding, 1)
			run("true")
			check("no change", 2, wantEnding, 1)
		})
	}
}
