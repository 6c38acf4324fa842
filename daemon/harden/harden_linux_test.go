package harden

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestProcess(t *testing.T) {
	var before unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &before); err != nil {
		t.Fatal(err)
	}
	if err := Process(); err != nil {
		t.Fatal(err)
	}
	var core unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &core); err != nil || core.Cur != 0 {
		t.Fatalf("core limit %+v, %v", core, err)
	}
	if dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || dumpable != 0 {
		t.Fatalf("dumpable %d, %v", dumpable, err)
	}
	BeforeExec()
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &core); err != nil || core != before {
		t.Fatalf("core limit before exec %+v, started with %+v", core, before)
	}
}

func TestChildEnv(t *testing.T) {
	got := ChildEnv([]string{"HOME=/h", "MFAD_FILE_PASSPHRASE=secret", "MFAD_FILE_PASSPHRASE_NOT=x", "MFAD_SOCKET=/s"})
	if len(got) != 3 || got[0] != "HOME=/h" || got[1] != "MFAD_FILE_PASSPHRASE_NOT=x" || got[2] != "MFAD_SOCKET=/s" {
		t.Fatalf("child env %q", got)
	}
}
