package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mfad/mfad/daemon/keystore"
)

// input reads what a command needs from the user: from the terminal with a
// prompt when stdin is one, else line by line from stdin.
type input struct {
	cmd   *cobra.Command
	lines *bufio.Reader
}

func newInput(cmd *cobra.Command) *input {
	return &input{cmd: cmd, lines: bufio.NewReader(cmd.InOrStdin())}
}

// terminal returns stdin's file descriptor when stdin is a terminal that
// this process may prompt on: one in the background of its shell would be
// stopped at the first prompt, so it has none.
func (in *input) terminal() (int, bool) {
	f, ok := in.cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || !inForeground(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// line asks for a visible answer.
func (in *input) line(prompt string) (string, error) {
	if _, ok := in.terminal(); ok {
		fmt.Fprint(in.cmd.ErrOrStderr(), prompt+": ")
	}
	s, err := in.lines.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no input: expected " + strings.ToLower(prompt) + " on stdin")
		}
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// secret asks for an answer that is not echoed.
func (in *input) secret(prompt string) (string, error) {
	fd, ok := in.terminal()
	if !ok {
		return in.line(prompt)
	}
	restore := echoOff(fd)
	defer restore()
	fmt.Fprint(in.cmd.ErrOrStderr(), prompt+": ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(in.cmd.ErrOrStderr())
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// confirm asks a yes/no question on the terminal; without one, the answer is no.
func (in *input) confirm(question string) bool {
	if _, ok := in.terminal(); !ok {
		return false
	}
	answer, err := in.line(question + " [y/N]")
	return err == nil && (strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes"))
}

// openKeystore opens the keyring the environment chooses. The file
// backend's passphrase is asked on the terminal, if there is one.
func openKeystore(in *input) (*keystore.Store, error) {
	var ask func(string) (string, error)
	if _, ok := in.terminal(); ok {
		ask = in.secret
	}
	opts, err := keystore.EnvOptions(ask)
	if err != nil {
		return nil, err
	}
	return keystore.Open(opts)
}
