//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mfad/mfad/daemon/ststest"
)

// ttySession is mfad running on a real pseudo-terminal, as a person runs it.
type ttySession struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	seen bytes.Buffer
	more chan struct{} // closed and replaced whenever output arrives
	done chan error
}

func (w *world) inTerminal(env []string, args ...string) *ttySession {
	w.t.Helper()
	return w.startTerminal(append(append([]string{}, w.env...), env...), append([]string{mfadBin}, args...)...)
}

// startTerminal runs argv with env on a pseudo-terminal.
func (w *world) startTerminal(env []string, argv ...string) *ttySession {
	w.t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	tty, err := pty.Start(cmd)
	if err != nil {
		w.t.Fatal(err)
	}
	term := &ttySession{t: w.t, tty: tty, cmd: cmd, more: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			close(term.more)
			term.more = make(chan struct{})
			term.mu.Unlock()
			if err != nil {
				term.done <- cmd.Wait()
				return
			}
		}
	}()
	w.t.Cleanup(func() { cmd.Process.Kill(); tty.Close() })
	return term
}

// expect waits until the output so far contains s.
func (term *ttySession) expect(s string) {
	term.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		term.mu.Lock()
		out, more := term.seen.String(), term.more
		term.mu.Unlock()
		if strings.Contains(out, s) {
			return
		}
		select {
		case <-more:
		case <-deadline:
			term.t.Fatalf("terminal never showed %q; it shows:\n%s", s, out)
		}
	}
}

func (term *ttySession) typeLine(s string) {
	term.t.Helper()
	if _, err := io.WriteString(term.tty, s+"\r"); err != nil {
		term.t.Fatal(err)
	}
}

func (term *ttySession) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.seen.String()
}

// wait waits for the command to exit and returns its exit status.
func (term *ttySession) wait() int {
	term.t.Helper()
	select {
	case err := <-term.done:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return exitErr.ExitCode()
		}
		if err != nil {
			term.t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		term.t.Fatalf("still running; terminal shows:\n%s", term.output())
		return -1
	}
}

// TestTerminalFirstRun is a first run on a headless machine: the daemon
// falls back to the encrypted file keyring and asks for a new passphrase
// (twice); the key is typed at prompts, the secret unseen; the code is typed
// at a prompt.
func TestTerminalFirstRun(t *testing.T) {
	w := newWorld(t)
	w.unsetEnv("MFAD_FILE_PASSPHRASE", "MFAD_KEYRING_BACKEND")

	serve := w.inTerminal(nil, "serve", "--listen", "127.0.0.1:0")
	serve.expect("choose a passphrase to encrypt keys in " + w.home + "/data/mfad/keyring.v2: ")
	serve.typeLine("first run passphrase")
	serve.expect("repeat the passphrase: ")
	serve.typeLine("first run passphrase")
	serve.expect(`msg="mfad is serving"`)
	if strings.Contains(serve.output(), "first run passphrase") {
		t.Fatal("the passphrase was echoed")
	}

	// With the daemon running, add stores through it: the key ID and the
	// secret are asked, the passphrase is not again.
	add := w.inTerminal(nil, "add", "default")
	add.expect("Access key ID: ")
	add.typeLine(w.user.AccessKeyID)
	add.expect("Secret access key: ")
	add.typeLine(w.user.SecretAccessKey)
	if code := add.wait(); code != 0 {
		t.Fatalf("add: exit %d\n%s", code, add.output())
	}
	out := add.output()
	if !strings.Contains(out, "stored access key") || !strings.Contains(out, "through the running daemon") ||
		strings.Contains(out, w.user.SecretAccessKey) || strings.Contains(out, "passphrase") {
		t.Fatalf("add showed:\n%s", out)
	}

	unlock := w.inTerminal(nil, "unlock")
	unlock.expect("MFA code for profile default: ")
	unlock.typeLine(w.user.Code(time.Now()))
	if code := unlock.wait(); code != 0 || !strings.Contains(unlock.output(), "unlocked profile default until") {
		t.Fatalf("unlock: exit %d\n%s", code, unlock.output())
	}
	if len(w.sts.Issued()) != 1 {
		t.Fatal("no session issued")
	}

	// Without the daemon, a command opens the keyring itself: a mistyped
	// passphrase reads nothing.
	serve.cmd.Process.Signal(syscall.SIGTERM)
	serve.wait()
	list := w.inTerminal(nil, "list")
	list.expect("passphrase for the encrypted keys in")
	list.typeLine("wrong passphrase")
	if code := list.wait(); code == 0 || !strings.Contains(list.output(), "wrong passphrase") {
		t.Fatalf("list with a wrong passphrase: exit %d\n%s", code, list.output())
	}
}

// TestTerminalInit walks through `mfad init` at a real terminal, as a new
// user does: the key moved from the credentials file, the QR code shown,
// two codes typed, the boundary confirmed, the daemon started, unlocked.
func TestTerminalInit(t *testing.T) {
	w := newInitWorld(t, ststest.NewUser("123456789012", "carol").WithoutMFA())
	t.Cleanup(func() { w.stopDaemon(t) })
	term := w.inTerminal(nil, "init", "--listen", "127.0.0.1:0")
	answer := func(prompt, reply string) {
		t.Helper()
		term.expect(prompt)
		term.typeLine(reply)
	}
	answer("into the keyring? [y/N]: ", "y")
	answer("(AWS tools read that file before mfad)? [y/N]: ", "y")
	answer("Create a virtual one for your authenticator app? [y/N]: ", "y")
	term.expect("Scan this QR code with your authenticator app:")
	answer("Also show the secret as text (for password managers)? [y/N]: ", "y")
	serial := "arn:aws:iam::123456789012:mfa/carol"
	seed := w.sts.DeviceSeed(serial)
	term.expect("Secret (base32), for apps that cannot scan: " + seed)
	now := time.Now()
	c1, c2 := code(seed, now), code(seed, now.Add(30*time.Second))
	answer("First code the app shows: ", c1)
	answer("Next code (wait for it to change): ", c2)
	answer("make it carol's permissions boundary? [y/N]: ", "y")
	answer("Start it now (for good: `mfad service install`)? [y/N]: ", "y")
	term.expect("MFA code to unlock (wait for a new one): ")
	term.typeLine(w.unusedCode(func(at time.Time) string { return code(seed, at) }, map[string]bool{c1: true, c2: true}))
	if status := term.wait(); status != 0 {
		t.Fatalf("init: exit %d\n%s", status, term.output())
	}
	out := term.output()
	// The QR code is drawn with half blocks, many rows of them.
	if n := strings.Count(out, "▀") + strings.Count(out, "▄") + strings.Count(out, "█"); n < 100 {
		t.Fatalf("no QR code drawn (%d block characters):\n%s", n, out)
	}
	if !strings.Contains(out, "Checked: STS answers the MFA session as arn:aws:iam::123456789012:user/carol") {
		t.Fatalf("init did not finish:\n%s", out)
	}
	if strings.Contains(out, w.carol.SecretAccessKey) {
		t.Fatal("the secret key was shown")
	}
}
