// Package notify shows the user desktop notifications: notify-send on
// Linux and the BSDs, osascript on macOS. Where neither is available the
// notifier does nothing; the daemon's log still says what happened.
package notify

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/mfad/mfad/daemon/harden"
)

// Notifier shows one notification.
type Notifier interface {
	Notify(title, message string) error
}

// Func adapts a function to Notifier.
type Func func(title, message string) error

// Notify calls f.
func (f Func) Notify(title, message string) error { return f(title, message) }

// Desktop returns the notifier for this system's desktop, or nil when it
// has none that mfad knows how to reach.
func Desktop() Notifier {
	switch runtime.GOOS {
	case "darwin":
		if path, err := exec.LookPath("osascript"); err == nil {
			return Func(func(title, message string) error {
				script := "display notification " + appleString(message) + " with title " + appleString(title)
				return run(path, "-e", script)
			})
		}
	case "windows":
	default:
		if path, err := exec.LookPath("notify-send"); err == nil {
			return Func(func(title, message string) error {
				return run(path, "--app-name=mfad", title, message)
			})
		}
	}
	return nil
}

func run(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = harden.ChildEnv(os.Environ())
	return cmd.Run()
}

// appleString quotes s for AppleScript.
func appleString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
