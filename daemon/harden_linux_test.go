package daemon

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestHardenProcess(t *testing.T) {
	if err := hardenProcess(); err != nil {
		t.Fatal(err)
	}
	var core unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &core); err != nil || core.Cur != 0 || core.Max != 0 {
		t.Fatalf("core limit %+v, %v", core, err)
	}
	if dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || dumpable != 0 {
		t.Fatalf("dumpable %d, %v", dumpable, err)
	}
}
