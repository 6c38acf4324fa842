package serve

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

func TestSameBuild(t *testing.T) {
	build := func() *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.8",
			Path:      "github.com/mfad/mfad/cmd/mfad",
			Main:      debug.Module{Path: "github.com/mfad/mfad", Version: "v1.2.3", Sum: "h1:abc"},
			Deps: []*debug.Module{
				{Path: "github.com/99designs/keyring", Version: "v1.2.2", Sum: "h1:k"},
				{Path: "github.com/spf13/cobra", Version: "v1.8.0", Sum: "h1:c"},
			},
			Settings: []debug.BuildSetting{
				{Key: "-ldflags", Value: "-s -w -X main.version=1.2.3"},
				{Key: "vcs.revision", Value: "0123456789abcdef"},
				{Key: "vcs.modified", Value: "false"},
			},
		}
	}
	daemon := build()
	daemon.Path = "github.com/mfad/mfad/cmd/mfad-daemon"
	daemon.Deps = daemon.Deps[:1] // links less: fewer modules is the point
	daemon.Settings[0], daemon.Settings[2] = daemon.Settings[2], daemon.Settings[0]
	if !sameBuild(build(), daemon) {
		t.Fatal("two binaries of one build, settings in another order: not the same build")
	}
	for name, change := range map[string]func(*debug.BuildInfo){
		"go":       func(b *debug.BuildInfo) { b.GoVersion = "go1.26.9" },
		"version":  func(b *debug.BuildInfo) { b.Main.Version = "v1.2.4" },
		"sum":      func(b *debug.BuildInfo) { b.Main.Sum = "h1:def" },
		"revision": func(b *debug.BuildInfo) { b.Settings[1].Value = "fedcba9876543210" },
		"modified": func(b *debug.BuildInfo) { b.Settings[2].Value = "true" },
		"ldflags":  func(b *debug.BuildInfo) { b.Settings[0].Value = "-X main.version=1.2.4" },
		"new setting": func(b *debug.BuildInfo) {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: "-tags", Value: "x"})
		},
		"dependency": func(b *debug.BuildInfo) { b.Deps[0].Version = "v1.2.3" },
	} {
		other := build()
		change(other)
		if sameBuild(other, daemon) || sameBuild(daemon, other) {
			t.Errorf("%s differs: taken for the same build", name)
		}
	}
}

func TestMainCommandLine(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr, "1.2.3")
		return code, stdout.String(), stderr.String()
	}
	if code, out, _ := run("--version"); code != 0 || out != "mfad-daemon version 1.2.3\n" {
		t.Errorf("--version: %d %q", code, out)
	}
	if code, out, _ := run("--help"); code != 0 || !strings.Contains(out, "mfad serve --help") || !strings.Contains(out, "--listen address") || strings.Contains(out, "cpuprofile") {
		t.Errorf("--help: %d %q", code, out)
	}
	for _, c := range []struct{ args, want string }{
		{"--lisen 127.0.0.1:1", "mfad: unknown flag: --lisen\nhint: see `mfad serve --help`\n"},
		{"serve", "mfad: too many arguments: [\"serve\"]\nhint: see `mfad serve --help`\n"},
		{"--log-level=loud", "mfad: --log-level \"loud\" is not one of debug, info, warn, error\nhint: see `mfad serve --help`\n"},
		{"--warn-before=soon", "mfad: invalid argument \"soon\" for \"--warn-before\" flag: time: invalid duration \"soon\"\nhint: see `mfad serve --help`\n"},
	} {
		if code, _, errOut := run(strings.Fields(c.args)...); code != 1 || !strings.HasSuffix(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want it to end %q", c.args, code, errOut, c.want)
		}
	}
}
