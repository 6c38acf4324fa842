//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package terminal

import "golang.org/x/sys/unix"

// echoOff stops the terminal echoing input and returns what restores it.
// term.ReadPassword turns echo off too, but only once it starts reading:
// a fast typist (or a pasted secret) right after the prompt would be shown.
func echoOff(fd int) (restore func()) {
	old, err := unix.IoctlGetTermios(fd, getTermios)
	if err != nil {
		return func() {}
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	if unix.IoctlSetTermios(fd, setTermios, &quiet) != nil {
		return func() {}
	}
	return func() { _ = unix.IoctlSetTermios(fd, setTermios, old) }
}

// inForeground reports whether this process is in the terminal's
// foreground process group. One in the background (`mfad serve &`) that
// reads or writes the terminal is stopped by the shell (SIGTTIN, SIGTTOU):
// it must not prompt.
func inForeground(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err != nil || pgrp == unix.Getpgrp()
}
