// Package harden keeps mfad's secrets inside the process that holds them:
// no core dump writes them to disk, no other process of the user reads
// them from /proc/PID/mem or attaches a debugger, and no child process
// inherits them through its environment.
package harden

import "slices"

// Process hardens the running process. Every mfad process calls it first,
// before it reads any secret: a command waiting at a passphrase prompt
// holds a long-term key as surely as the daemon does. On Linux: no core
// dumps (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE 0); elsewhere,
// nothing.
func Process() error { return process() }

// BeforeExec gives back the core dump limit the process started with, for
// a program it is about to become (mfad exec): the user's program should
// dump core as it would without mfad. The program runs dumpable again, as
// exec makes it.
func BeforeExec() { beforeExec() }

// SecretVars are the variables with mfad's own secrets.
var SecretVars = []string{"MFAD_FILE_PASSPHRASE"}

// ChildEnv returns env without mfad's secrets, for any process mfad
// starts: a command under `mfad exec`, mfa_process, notify-send.
func ChildEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		for _, name := range SecretVars {
			if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
				return true
			}
		}
		return false
	})
}
