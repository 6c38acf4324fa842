package keystore

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the derivation child end with the daemon: a daemon
// stopped while the child runs would otherwise leave it a tenth of a
// second of CPU to burn for no one, beside the next daemon starting.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
