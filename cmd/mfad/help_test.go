package main

import (
	"bytes"
	"context"
	"os"
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

// TestCompletionOffersProfiles: every --profile flag, and the PROFILE
// argument of exec, add, import and remove, complete to the config file's
// profile names.
func TestCompletionOffersProfiles(t *testing.T) {
	dir := t.TempDir()
	config := dir + "/config"
	if err := os.WriteFile(config, []byte("[default]\n[profile prod]\n[profile prod-eu]\n[profile dev]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", config)
	for _, args := range [][]string{
		{"exec", "pr"}, {"remove", "pr"}, {"add", "pr"}, {"import", "pr"},
		{"unlock", "--profile", "pr"}, {"lock", "--profile", "pr"}, {"env", "--profile", "pr"},
		{"doctor", "--profile", "pr"}, {"serve", "--profile", "pr"}, {"init", "--profile", "pr"},
		{"service", "install", "--profile", "pr"},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), append([]string{"__complete"}, args...), strings.NewReader(""), &out, &out); code != 0 {
			t.Fatalf("complete %v: exit %d", args, code)
		}
		if got, _, _ := strings.Cut(out.String(), ":4\n"); got != "prod\nprod-eu\n" {
			t.Errorf("complete %v offers %q", args, out.String())
		}
	}
	var out bytes.Buffer
	run(context.Background(), []string{"__complete", "exec", "prod", "--", "l"}, strings.NewReader(""), &out, &out)
	if strings.Contains(out.String(), "prod") {
		t.Errorf("exec's command completes to profiles: %q", out.String())
	}
}
