package handoff

import (
	"runtime/debug"
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
	if !builtTogether(build(), daemon) {
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
		if builtTogether(other, daemon) || builtTogether(daemon, other) {
			t.Errorf("%s differs: taken for the same build", name)
		}
	}
}
