//go:build unix

package main

import (
	"syscall"

	"github.com/mfad/mfad/daemon/harden"
)

// execCommand replaces mfad with the command, so that its exit status and
// the signals sent to it are the command's own.
func execCommand(path string, argv, env []string) error {
	harden.BeforeExec()
	return syscall.Exec(path, argv, env)
}
