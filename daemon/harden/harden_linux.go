package harden

import "golang.org/x/sys/unix"

// coreLimit is RLIMIT_CORE as the process started, for BeforeExec.
var coreLimit *unix.Rlimit

func process() error {
	var was unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &was); err != nil {
		return err
	}
	if coreLimit == nil {
		coreLimit = &was
	}
	// The soft limit only: the hard one stays, so that BeforeExec can
	// give the program it becomes the limit the user had.
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: was.Max}); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

func beforeExec() {
	if coreLimit != nil {
		_ = unix.Setrlimit(unix.RLIMIT_CORE, coreLimit)
	}
}
