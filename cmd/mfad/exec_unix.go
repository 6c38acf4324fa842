//go:build unix

package main

import "syscall"

// execCommand replaces mfad with the command, so that its exit status and
// the signals sent to it are the command's own.
func execCommand(path string, argv, env []string) error {
	return syscall.Exec(path, argv, env)
}
