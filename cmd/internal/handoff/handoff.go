// Package handoff keeps mfad and mfad-daemon in step: mfad gives its serve
// command to the daemon binary of its own build beside it, and a daemon
// left beside a newer or older mfad gives serving back to it. Each
// replaces itself by the other (exec), keeping the process.
package handoff

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
)

// The two binaries, installed side by side.
const (
	DaemonName = "mfad-daemon"
	CLIName    = "mfad"
)

// Daemon returns the daemon binary beside this one, when there is
// one of the same build: `mfad serve` then hands over to it (Exec). why
// says why one that is there is not used; both are empty when there is
// none, as after `go install ./cmd/mfad` alone, and on Windows, which
// cannot replace a process by another (the service there runs mfad).
func Daemon() (path, why string) {
	if runtime.GOOS == "windows" {
		return "", ""
	}
	path, kind, why := sibling(DaemonName)
	if kind != sameBuild {
		return "", why
	}
	return path, ""
}

// OtherCLI returns mfad beside this daemon binary when it is mfad of
// another build: mfad upgraded alone (`go install ./cmd/mfad`), leaving an
// older daemon that a login service installed earlier still runs. The
// daemon then hands over to `mfad serve` (Exec), which serves in its own
// process: the version installed last serves, as when mfad is run by hand.
func OtherCLI() (path, why string) {
	if runtime.GOOS == "windows" {
		return "", ""
	}
	path, kind, why := sibling(CLIName)
	if kind != otherBuild {
		return "", ""
	}
	return path, why
}

// A sibling binary is one of these.
type siblingKind int

const (
	absent     siblingKind = iota
	sameBuild              // cmd/NAME of this module, built with this binary
	otherBuild             // cmd/NAME of this module, of another build
	stranger               // another program, or one that cannot be read
)

// sibling looks beside this binary for name, the program cmd/NAME of this
// module, and says what it found; why says what is wrong with one that is
// there and not of this build.
func sibling(name string) (path string, kind siblingKind, why string) {
	self, err := os.Executable()
	if err != nil {
		return "", absent, ""
	}
	path = filepath.Join(filepath.Dir(self), name)
	if _, err := os.Stat(path); err != nil {
		return "", absent, ""
	}
	own, ok := debug.ReadBuildInfo()
	if !ok {
		return path, stranger, path + ": this binary has no build information to compare with"
	}
	theirs, err := buildinfo.ReadFile(path)
	if err != nil {
		return path, stranger, fmt.Sprintf("%s is not a Go binary that can be read (%v)", path, err)
	}
	if want := own.Main.Path + "/cmd/" + name; theirs.Path != want {
		return path, stranger, fmt.Sprintf("%s is %s, not %s", path, theirs.Path, want)
	}
	if !builtTogether(own, theirs) {
		return path, otherBuild, fmt.Sprintf("%s is from another build (%s) than %s (%s): install both from the same source or package",
			path, describe(theirs), filepath.Base(self), describe(own))
	}
	return path, sameBuild, ""
}

// Exec replaces this process by the binary at path with args, keeping
// its process ID, environment and open descriptors: a service manager's
// socket (LISTEN_FDS, LISTEN_PID) and the terminal stay the daemon's. It
// returns only if that fails.
func Exec(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args...), os.Environ())
}

// builtTogether reports whether two binaries were built together: the same Go,
// main module, build settings (VCS revision and state, flags, target) and
// versions of the modules both use.
func builtTogether(a, b *debug.BuildInfo) bool {
	if a.GoVersion != b.GoVersion || a.Main.Version != b.Main.Version || a.Main.Sum != b.Main.Sum {
		return false
	}
	settings := func(bi *debug.BuildInfo) []debug.BuildSetting {
		s := slices.Clone(bi.Settings)
		slices.SortFunc(s, func(x, y debug.BuildSetting) int { return strings.Compare(x.Key, y.Key) })
		return s
	}
	if !slices.Equal(settings(a), settings(b)) {
		return false
	}
	versions := make(map[string]string, len(a.Deps))
	for _, m := range a.Deps {
		versions[m.Path] = m.Version + " " + m.Sum
	}
	for _, m := range b.Deps {
		if v, ok := versions[m.Path]; ok && v != m.Version+" "+m.Sum {
			return false
		}
	}
	return true
}

// describe names a build in a few words for an error: its version (the
// one stamped with -X main.version, as packages are built, else the
// module's), Go and VCS revision.
func describe(bi *debug.BuildInfo) string {
	version, revision := bi.Main.Version, ""
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "-ldflags":
			if _, v, ok := strings.Cut(kv.Value, "main.version="); ok {
				version, _, _ = strings.Cut(v, " ")
			}
		case "vcs.revision":
			revision = kv.Value[:min(12, len(kv.Value))]
		}
	}
	s := version + ", " + bi.GoVersion
	if revision != "" {
		s += ", revision " + revision
	}
	return s
}
