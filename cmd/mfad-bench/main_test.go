package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	// The ceiling server runs as a copy of this binary.
	if len(os.Args) == 3 && os.Args[1] == "-serve-ceiling" {
		serveCeilingHere(os.Args[2])
		return
	}
	os.Exit(m.Run())
}

// TestSmallRun runs the whole benchmark on a small scale: it must finish,
// fail no sequence, and report every section and target.
func TestSmallRun(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mfad")
	build := exec.Command("go", "build", "-o", bin, "../mfad")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rep, err := measure(context.Background(), config{mfad: bin, sequences: 200, levels: []int{1, 4}, runs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.failures != 0 {
		t.Fatalf("%d sequences failed", rep.failures)
	}
	text := rep.markdown()
	for _, want := range []string{"fresh TCP connection", "kept-alive", "`mfad serve` exec to the IMDS port answering", "daemon RSS", "## Targets", "keep-alive, concurrency 4"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if len(rep.fresh) != 2 || rep.fresh[1].mfad.sequences != 200 || len(rep.fresh[1].mfad.latencies) != 200 {
		t.Errorf("fresh rows %+v", rep.fresh)
	}
	if rep.cliSkipped != "" {
		t.Errorf("client view skipped: %s", rep.cliSkipped)
	}
}
