package packaging

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebianPackage builds the packages with build.sh, installs the .deb
// with dpkg as a user of it would, runs the installed mfad, and removes it.
// It installs system-wide, so it runs in CI (CI set, root) and nowhere
// else: on a developer's machine it would replace the mfad they use.
func TestDebianPackage(t *testing.T) {
	if os.Getenv("CI") == "" {
		t.Skip("installs mfad system-wide (/usr/bin/mfad): runs only in CI (CI set, as root)")
	}
	if os.Getuid() != 0 {
		t.Fatal("installing a package needs root, and CI runs as root")
	}
	if _, err := os.Stat("/usr/bin/mfad"); err == nil {
		t.Fatal("/usr/bin/mfad exists already: this test would replace it")
	}
	build := exec.Command("./build.sh")
	build.Env = append(os.Environ(), "MFAD_VERSION=1.2.3-test")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob("../dist/mfad_1.2.3~test_*.deb")
	if rpms, _ := filepath.Glob("../dist/mfad-1.2.3~test-1.*.rpm"); len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("packages built: %v %v", debs, rpms)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("dpkg", "-i", debs[0])
	defer exec.Command("dpkg", "-r", "mfad").Run()

	for _, bin := range []string{"/usr/bin/mfad", "/usr/bin/mfad-daemon"} {
		if out := run(bin, "--version"); !strings.Contains(out, "1.2.3-test") {
			t.Fatalf("%s --version: %s", bin, out)
		}
	}
	for _, f := range []string{"/usr/lib/systemd/user/mfad.service", "/usr/lib/systemd/user/mfad.socket", "/usr/share/bash-completion/completions/mfad", "/usr/share/doc/mfad/README.md"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if unit, _ := os.ReadFile("/usr/lib/systemd/user/mfad.service"); !strings.Contains(string(unit), "ExecStart=/usr/bin/mfad-daemon --listen 127.0.0.1:9911 --profile default\n") {
		t.Errorf("packaged unit:\n%s", unit)
	}
	// The two binaries are of one build: `mfad serve` becomes mfad-daemon.
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, "serving"), 0o700); err != nil {
		t.Fatal(err)
	}
	serve := exec.Command("/usr/bin/mfad", "serve", "--listen", "127.0.0.1:0", "--notify=false")
	serve.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "MFAD_KEYRING_BACKEND=file", "MFAD_FILE_PASSPHRASE=x",
		"MFAD_SOCKET=" + filepath.Join(home, "serving", "mfad.sock")}
	logs, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill()
	sc := bufio.NewScanner(logs)
	for sc.Scan() && !strings.Contains(sc.Text(), "mfad is serving") {
		t.Log(sc.Text())
	}
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", serve.Process.Pid)); exe != "/usr/bin/mfad-daemon" {
		t.Errorf("the installed mfad serve runs %q (%v), want /usr/bin/mfad-daemon", exe, err)
	}
	serve.Process.Kill()
	serve.Wait()
	// doctor runs and reports on a machine with nothing set up; it must
	// not reach out to AWS: STS is pointed at a closed local port.
	doctor := exec.Command("/usr/bin/mfad", "doctor")
	doctor.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "MFAD_KEYRING_BACKEND=file", "MFAD_FILE_PASSPHRASE=x",
		"AWS_ENDPOINT_URL_STS=http://127.0.0.1:1", "MFAD_SOCKET=" + filepath.Join(home, "run", "mfad.sock")}
	out, err := doctor.CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "PROBLEM  daemon:") || !strings.Contains(string(out), "fix: mfad add default") {
		t.Fatalf("installed mfad doctor: exit %d\n%s", code, out)
	}

	run("dpkg", "-r", "mfad")
	for _, bin := range []string{"/usr/bin/mfad", "/usr/bin/mfad-daemon"} {
		if _, err := os.Stat(bin); !os.IsNotExist(err) {
			t.Fatalf("%s after dpkg -r: %v", bin, err)
		}
	}
}

func exitCode(err error) int {
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
