// Package terminal is how mfad's commands talk with the user: answers
// typed at a prompt on the terminal, or lines of stdin when it is not one,
// and errors told as every command tells them.
package terminal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/ipc"
)

// Input reads answers from stdin: from the terminal with a prompt when
// stdin is one, else line by line.
type Input struct {
	stdin  io.Reader
	prompt io.Writer // where prompts go: stderr, never stdout
	lines  *bufio.Reader
}

// NewInput reads answers from stdin and writes prompts to stderr.
func NewInput(stdin io.Reader, stderr io.Writer) *Input {
	return &Input{stdin: stdin, prompt: stderr, lines: bufio.NewReader(stdin)}
}

// Terminal returns stdin's file descriptor when stdin is a terminal that
// this process may prompt on: one in the background of its shell would be
// stopped at the first prompt, so it has none.
func (in *Input) Terminal() (int, bool) {
	f, ok := in.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || !inForeground(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// Line asks for a visible answer.
func (in *Input) Line(prompt string) (string, error) {
	if _, ok := in.Terminal(); ok {
		fmt.Fprint(in.prompt, prompt+": ")
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

// Secret asks for an answer that is not echoed.
func (in *Input) Secret(prompt string) (string, error) {
	fd, ok := in.Terminal()
	if !ok {
		return in.Line(prompt)
	}
	restore := echoOff(fd)
	defer restore()
	fmt.Fprint(in.prompt, prompt+": ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(in.prompt)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Confirm asks a yes/no question on the terminal; without one, the answer is no.
func (in *Input) Confirm(question string) bool {
	if _, ok := in.Terminal(); !ok {
		return false
	}
	answer, err := in.Line(question + " [y/N]")
	return err == nil && (strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes"))
}

// OpenKeystore opens the keyring the environment chooses. The file
// backend's passphrase is asked on the terminal, if there is one.
func OpenKeystore(in *Input) (*keystore.Store, error) {
	var ask func(string) (string, error)
	if _, ok := in.Terminal(); ok {
		ask = in.Secret
	}
	opts, err := keystore.EnvOptions(ask)
	if err != nil {
		return nil, err
	}
	return keystore.Open(opts)
}

// PrintError prints err as every mfad command does: "mfad: message", then
// what to do, "hint: ...", when err carries advice.
func PrintError(w io.Writer, err error) {
	fmt.Fprintf(w, "mfad: %s\n", err)
	if hint := ipc.HintOf(err); hint != "" {
		fmt.Fprintf(w, "hint: %s\n", hint)
	}
}
