//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package terminal

// echoOff leaves the terminal alone; term.ReadPassword hides the input.
func echoOff(int) (restore func()) { return func() {} }

// inForeground: no job control to stop a background prompt here.
func inForeground(int) bool { return true }
