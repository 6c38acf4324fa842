package notify

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestDesktopRunsNotifySend puts a stand-in notify-send on PATH and checks
// what it is given.
func TestDesktopRunsNotifySend(t *testing.T) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("notify-send is the Linux notifier")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + out + "\n"
	if err := os.WriteFile(filepath.Join(dir, "notify-send"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	n := Desktop()
	if n == nil {
		t.Fatal("no notifier with notify-send on PATH")
	}
	if err := n.Notify("mfad", `session "default" ends soon`); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if want := "--app-name=mfad\nmfad\nsession \"default\" ends soon\n"; string(got) != want {
		t.Fatalf("notify-send got %q, want %q", got, want)
	}
	t.Setenv("PATH", t.TempDir())
	if Desktop() != nil {
		t.Fatal("a notifier without notify-send")
	}
}

func TestAppleString(t *testing.T) {
	if got := appleString(`a "b" \c`); got != `"a \"b\" \\c"` {
		t.Fatalf("got %s", got)
	}
	if got := appleString(`x" & do shell script "rm`); got != `"x\" & do shell script \"rm"` {
		t.Fatalf("quote not escaped: %s", got)
	}
}
