package main

import (
	"os/exec"
	"syscall"
)

// detach starts cmd without a console of its own.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: 0x00000008} // DETACHED_PROCESS
}

// openNoFollow: Windows has no such flag, and no other user can write the
// user's local application data.
const openNoFollow = 0
