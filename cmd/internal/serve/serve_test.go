package serve

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

func TestMainCommandLine(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr, "1.2.3")
		return code, stdout.String(), stderr.String()
	}
	if code, out, _ := run("--version"); code != 0 || out != "mfad-daemon version 1.2.3\n" {
		t.Errorf("--version: %d %q", code, out)
	}
	if code, out, _ := run("--help"); code != 0 || !strings.Contains(out, "mfad serve --help") || !strings.Contains(out, "--listen address") || strings.Contains(out, "cpuprofile") {
		t.Errorf("--help: %d %q", code, out)
	}
	for _, c := range []struct{ args, want string }{
		{"--lisen 127.0.0.1:1", "mfad: unknown flag: --lisen\nhint: see `mfad serve --help`\n"},
		{"serve", "mfad: too many arguments: [\"serve\"]\nhint: see `mfad serve --help`\n"},
		{"--log-level=loud", "mfad: --log-level \"loud\" is not one of debug, info, warn, error\nhint: see `mfad serve --help`\n"},
		{"--cpuprofile=cpu.prof", "mfad: --cpuprofile: this build cannot write profiles; build with -tags mfadprofile (`go run ./cmd/mfad-bench -cpuprofile FILE` does)\n"},
		{"--warn-before=soon", "mfad: invalid argument \"soon\" for \"--warn-before\" flag: time: invalid duration \"soon\"\nhint: see `mfad serve --help`\n"},
	} {
		if code, _, errOut := run(strings.Fields(c.args)...); code != 1 || !strings.HasSuffix(errOut, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want it to end %q", c.args, code, errOut, c.want)
		}
	}
}

// TestTuneGC: the daemon collects at its own GC target, unless GOGC in
// its environment says otherwise.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC target %d without GOGC, want %d", got, gcPercent)
	}
	tuneGC(func(name string) string {
		if name == "GOGC" {
			return "50"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC target %d with GOGC set: the user's choice was overridden", got)
	}
}
