package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestEveryCommandExplainsItself: each command has a short line, an
// example, and help that runs.
func TestEveryCommandExplainsItself(t *testing.T) {
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Short == "" || c.Example == "" {
			t.Errorf("mfad %s: short %q, example %q", c.Name(), c.Short, c.Example)
		}
		var out bytes.Buffer
		if code := run(context.Background(), []string{c.Name(), "--help"}, strings.NewReader(""), &out, &out); code != 0 || !strings.Contains(out.String(), "Examples:") {
			t.Errorf("mfad %s --help: exit %d\n%s", c.Name(), code, out.String())
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, strings.NewReader(""), &out, &out); code != 0 || !strings.HasPrefix(out.String(), "mfad version ") {
		t.Errorf("--version: %d %q", code, out.String())
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out.Reset()
		if code := run(context.Background(), []string{"completion", shell}, strings.NewReader(""), &out, &out); code != 0 || !strings.Contains(out.String(), "mfad") {
			t.Errorf("completion %s: exit %d", shell, code)
		}
	}
}
