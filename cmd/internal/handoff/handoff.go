// Package handoff is how mfad gives its serve command to mfad-daemon: it
// finds the daemon binary of its own build beside it and replaces itself
// by it. It lives apart from package serve, which both binaries link, so
// that the daemon does not carry the readers of binaries it needs.
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

	"github.com/mfad/mfad/cmd/internal/serve"
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
	self, err := os.Executable()
	if err != nil {
		return "", ""
	}
	path = filepath.Join(filepath.Dir(self), serve.DaemonName)
	if _, err := os.Stat(path); err != nil {
		return "", ""
	}
	own, ok := debug.ReadBuildInfo()
	if !ok {
		return "", path + ": this mfad has no build information to compare with"
	}
	theirs, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", fmt.Sprintf("%s is not a Go binary this mfad can read (%v)", path, err)
	}
	if want := own.Main.Path + "/cmd/" + serve.DaemonName; theirs.Path != want {
		return "", fmt.Sprintf("%s is %s, not %s", path, theirs.Path, want)
	}
	if !sameBuild(own, theirs) {
		return "", fmt.Sprintf("%s is from another build than this mfad (%s): install both from the same source or package", path, describe(theirs))
	}
	return path, ""
}

// Exec replaces this process by the daemon binary with args, keeping
// its process ID, environment and open descriptors: a service manager's
// socket (LISTEN_FDS, LISTEN_PID) and the terminal stay the daemon's. It
// returns only if that fails.
func Exec(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args...), os.Environ())
}

// sameBuild reports whether two binaries were built together: the same Go,
// main module, build settings (VCS revision and state, flags, target) and
// versions of the modules both use.
func sameBuild(a, b *debug.BuildInfo) bool {
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

// describe names a build in a few words for an error.
func describe(bi *debug.BuildInfo) string {
	s := bi.Main.Version + ", " + bi.GoVersion
	for _, kv := range bi.Settings {
		if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
			s += ", revision " + kv.Value[:12]
		}
	}
	return s
}
