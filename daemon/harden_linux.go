package daemon

import "golang.org/x/sys/unix"

// hardenProcess keeps the daemon's memory, which holds session credentials,
// out of core dumps, and out of reach of other processes of the same user
// through ptrace and /proc/PID/mem.
func hardenProcess() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
