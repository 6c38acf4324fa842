//go:build unix

package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestImport(t *testing.T) {
	w := newWorld(t)
	creds := filepath.Join(w.home, "credentials")
	w.unsetEnv("AWS_SHARED_CREDENTIALS_FILE")
	w.env = append(w.env, "AWS_SHARED_CREDENTIALS_FILE="+creds)
	original := "# my keys\n[other]\naws_access_key_id = not-a-key\naws_secret_access_key = " + strings.Repeat("o", 40) + "\n\n" +
		"[default]\n# alice, hub account\naws_access_key_id = " + w.user.AccessKeyID + "\naws_secret_access_key = " + w.user.SecretAccessKey + "\nregion = eu-west-1\n\n" +
		"[temp]\naws_access_key_id = ASIATEMPTEMPTEMPTEMP\naws_secret_access_key = " + strings.Repeat("t", 40) + "\naws_session_token = tok\n"
	writeFile(t, creds, original)

	// Without a terminal and without --yes, the plain file is not touched.
	res := w.mfad("", nil, "import", "default")
	if res.exit != 0 || !strings.Contains(res.stdout, "stored access key") || !strings.Contains(res.stderr, "still holds the key in plain text") {
		t.Fatalf("import without confirmation: %+v", res)
	}
	if data, _ := os.ReadFile(creds); string(data) != original {
		t.Fatalf("the file changed without confirmation:\n%s", data)
	}
	// With --yes and --backup: the key leaves the file, the rest stays.
	res = w.mfad("", nil, "import", "--yes", "--backup", "default")
	if res.exit != 0 || !strings.Contains(res.stdout, "removed the key of profile default") {
		t.Fatalf("import --yes: %+v", res)
	}
	data, _ := os.ReadFile(creds)
	want := strings.Replace(original, "aws_access_key_id = "+w.user.AccessKeyID+"\naws_secret_access_key = "+w.user.SecretAccessKey+"\n", "", 1)
	if string(data) != want {
		t.Fatalf("file after import:\n%s\nwant:\n%s", data, want)
	}
	if backup, _ := os.ReadFile(creds + ".mfad-backup"); string(backup) != original {
		t.Fatal("backup differs from the original")
	}
	if fi, _ := os.Stat(creds + ".mfad-backup"); fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v", fi.Mode().Perm())
	}
	// The keyring has the key: the daemon unlocks with it.
	w.serve()
	w.mustMfad("unlock", "--code", w.freshCode())

	expectFailure(t, w.mfad("", nil, "import", "temp"), "temporary session credentials", "long-term key")
	expectFailure(t, w.mfad("", nil, "import", "ghost"), "profile ghost has no access key in "+creds, "mfad add ghost")
	expectFailure(t, w.mfad("", nil, "import", "other"), "does not look like an access key ID", "")
}

func TestShellInit(t *testing.T) {
	w := newWorld(t)
	out, err := runClient(t, append(w.env, "MFAD="+mfadBin), "bash", "-c", `eval "$("$MFAD" shell-init bash)" && echo "$AWS_EC2_METADATA_SERVICE_ENDPOINT"`)
	if err != nil || strings.TrimSpace(out) != "http://127.0.0.1:9911/" {
		t.Fatalf("without a daemon: %q %v", out, err)
	}
	d := w.serve()
	out, err = runClient(t, append(w.env, "MFAD="+mfadBin), "bash", "-c", `eval "$("$MFAD" shell-init bash)" && echo "$AWS_EC2_METADATA_SERVICE_ENDPOINT"`)
	if err != nil || strings.TrimSpace(out) != d.endpoint {
		t.Fatalf("with a daemon: %q %v, want %s", out, err, d.endpoint)
	}
	out, err = runClient(t, append(w.env, "MFAD="+mfadBin), "fish", "--no-config", "-c", `"$MFAD" shell-init fish | source; and echo "$AWS_EC2_METADATA_SERVICE_ENDPOINT"`)
	if err != nil || strings.TrimSpace(out) != d.endpoint {
		t.Fatalf("fish: %q %v, want %s", out, err, d.endpoint)
	}
	expectFailure(t, w.mfad("", nil, "shell-init", "tcsh"), "unknown shell", "mfad shell-init --help")
}

// TestDoctor breaks every part of a set-up, checks that doctor names each
// problem with its fix, then mends them and checks it is content.
func TestDoctor(t *testing.T) {
	w := newWorld(t)
	creds := filepath.Join(w.home, "credentials")
	w.unsetEnv("AWS_SHARED_CREDENTIALS_FILE")
	writeFile(t, creds, "[default]\naws_access_key_id = "+w.user.AccessKeyID+"\naws_secret_access_key = "+w.user.SecretAccessKey+"\n")
	writeFile(t, filepath.Join(w.home, "aws-config"), "[default]\nregion = eu-west-1\n")
	w.sts.SetClock(func() time.Time { return time.Now().Add(-40 * time.Minute) })
	broken := []string{"AWS_SHARED_CREDENTIALS_FILE=" + creds, "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "HTTPS_PROXY=http://127.0.0.1:1", "NO_PROXY=",
		"AWS_EC2_METADATA_DISABLED=true"}
	res := w.mfad("", broken, "doctor")
	if res.exit != 1 {
		t.Fatalf("doctor on a broken set-up: exit %d\n%s", res.exit, res.stdout)
	}
	for _, want := range []string{
		"PROBLEM  daemon: failed to connect to mfad", "fix: start it with `mfad serve`",
		"PROBLEM  profile default has no mfa_serial", "fix: add `mfa_serial = arn:aws:iam::ACCOUNT_ID:mfa/DEVICE_NAME` under [default]",
		"PROBLEM  keyring (file): no access key is stored for profile default", "fix: mfad import default (the key is in " + creds + ")",
		"PROBLEM  this shell: AWS_EC2_METADATA_SERVICE_ENDPOINT is not set",
		"PROBLEM  this shell: AWS_EC2_METADATA_DISABLED=true",
		"PROBLEM  this shell: AWS_ACCESS_KEY_ID is set", "fix: unset AWS_ACCESS_KEY_ID",
		"PROBLEM  profile default has an access key in " + creds,
		"PROBLEM  this shell: HTTPS_PROXY is set without NO_PROXY for 127.0.0.1", "fix: export NO_PROXY=127.0.0.1",
		"PROBLEM  clock: this computer's clock is 40m0s off STS's", "fix: set the clock right",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("doctor does not say %q:\n%s", want, res.stdout)
		}
	}
	if !strings.Contains(res.stderr, "problem(s) found") {
		t.Errorf("stderr %q", res.stderr)
	}

	// Mended: config with mfa_serial, key imported, daemon running, the
	// shell pointed at it, the clock right.
	writeFile(t, filepath.Join(w.home, "aws-config"), "[default]\nregion = eu-west-1\nmfa_serial = "+w.user.MFASerial+"\n")
	w.sts.SetClock(time.Now)
	if res := w.mfad("", []string{"AWS_SHARED_CREDENTIALS_FILE=" + creds}, "import", "--yes", "default"); res.exit != 0 {
		t.Fatalf("import: %+v", res)
	}
	d := w.serve()
	res = w.mfad("", []string{"AWS_SHARED_CREDENTIALS_FILE=" + creds, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + d.endpoint}, "doctor")
	if res.exit != 0 || strings.Contains(res.stdout, "PROBLEM") || !strings.Contains(res.stdout, "all good") || !strings.Contains(res.stdout, "ok       clock: within") {
		t.Fatalf("doctor on a mended set-up: exit %d\n%s%s", res.exit, res.stdout, res.stderr)
	}
}

// TestServiceInstall installs the login service with a stand-in systemctl
// that records what it is asked, then checks the files written, that a
// second install changes nothing, and that uninstall removes everything.
func TestServiceInstall(t *testing.T) {
	w := newWorld(t)
	bin := filepath.Join(w.home, "bin")
	calls := filepath.Join(w.home, "systemctl-calls")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bin, "systemctl"), "#!/bin/sh\necho \"$*\" >> "+calls+"\ncase \"$1\" in is-active) echo inactive; exit 3;; esac\nexit 0\n")
	os.Chmod(filepath.Join(bin, "systemctl"), 0o755)
	for i, kv := range w.env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			w.env[i] = "PATH=" + bin + ":" + p
		}
	}
	unitPath := filepath.Join(w.home, ".config", "systemd", "user", "mfad.service")
	socketPath := filepath.Join(w.home, ".config", "systemd", "user", "mfad.socket")
	envPath := filepath.Join(w.home, ".config", "environment.d", "60-mfad.conf")

	out := w.mustMfad("service", "install", "--profile", "work", "--listen", "127.0.0.1:9912")
	if !strings.Contains(out, "wrote "+unitPath) || !strings.Contains(out, "wrote "+envPath) || !strings.Contains(out, "wrote "+socketPath) {
		t.Fatalf("install said:\n%s", out)
	}
	if socket, _ := os.ReadFile(socketPath); !strings.Contains(string(socket), "ListenStream=127.0.0.1:9912\n") {
		t.Fatalf("socket unit:\n%s", socket)
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	// The daemon binary beside mfad, of its build, is what the unit runs.
	if !strings.Contains(string(unit), "ExecStart="+filepath.Join(filepath.Dir(mfadBin), "mfad-daemon")+" --listen 127.0.0.1:9912 --profile work\n") || !strings.Contains(string(unit), "WantedBy=default.target") {
		t.Fatalf("unit:\n%s", unit)
	}
	if env, _ := os.ReadFile(envPath); !strings.Contains(string(env), "\nAWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9912/\n") {
		t.Fatalf("environment.d:\n%s", env)
	}
	analyze, err := exec.Command("systemd-analyze", "verify", unitPath, socketPath).CombinedOutput()
	if err != nil || strings.Contains(string(analyze), "mfad.service:") || strings.Contains(string(analyze), "mfad.socket:") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, analyze)
	}
	recorded, _ := os.ReadFile(calls)
	if !strings.Contains(string(recorded), "enable --user mfad.service") || !strings.Contains(string(recorded), "daemon-reload --user") ||
		!strings.Contains(string(recorded), "--user enable mfad.socket") {
		t.Fatalf("systemctl was asked:\n%s", recorded)
	}

	// Again: the same files, no error.
	w.mustMfad("service", "install", "--profile", "work", "--listen", "127.0.0.1:9912")
	if again, _ := os.ReadFile(unitPath); string(again) != string(unit) {
		t.Fatalf("second install changed the unit:\n%s", again)
	}
	w.mustMfad("service", "start")
	if recorded, _ := os.ReadFile(calls); !strings.Contains(string(recorded), "start --user mfad.service") {
		t.Fatalf("start: systemctl was asked:\n%s", recorded)
	}
	expectFailure(t, w.mfad("", nil, "service", "install", "--listen", "0.0.0.0:9911"), "loopback only", "--listen 127.0.0.1:PORT")

	w.mustMfad("service", "uninstall")
	for _, p := range []string{unitPath, socketPath, envPath} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after uninstall: %v", p, err)
		}
	}
	if recorded, _ := os.ReadFile(calls); !strings.Contains(string(recorded), "disable --user mfad.service") {
		t.Fatalf("uninstall: systemctl was asked:\n%s", recorded)
	}
}

// TestServiceWithoutUserManager: where no systemd user manager runs (SSH
// without lingering, containers, WSL), install says what systemctl said
// and what to do, and leaves nothing behind; status says what is on disk;
// shell-init --start is the way out, and starts the daemon.
func TestServiceWithoutUserManager(t *testing.T) {
	w := newWorld(t)
	bin := filepath.Join(w.home, "bin")
	os.MkdirAll(bin, 0o755)
	writeFile(t, filepath.Join(bin, "systemctl"), "#!/bin/sh\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n")
	os.Chmod(filepath.Join(bin, "systemctl"), 0o755)
	for i, kv := range w.env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			w.env[i] = "PATH=" + bin + ":" + p
		}
	}
	w.env = append(w.env, "USER=alice")
	expectFailure(t, w.mfad("", nil, "service", "install", "--listen", "127.0.0.1:9912"),
		"systemctl --user: Failed to connect to bus: No medium found", "loginctl enable-linger alice")
	for _, p := range []string{"systemd/user/mfad.service", "systemd/user/mfad.socket", "systemd/user/default.target.wants/mfad.service", "environment.d/60-mfad.conf"} {
		if _, err := os.Lstat(filepath.Join(w.home, ".config", p)); !os.IsNotExist(err) {
			t.Errorf("install left %s: %v", p, err)
		}
	}
	if res := w.mfad("", nil, "service", "status"); res.exit != 0 || !strings.Contains(res.stdout, "service: not installed\nfiles: none\n") {
		t.Fatalf("status: %+v", res)
	}
	// Files left by hand while the manager does not answer: status says both.
	unit := filepath.Join(w.home, ".config", "systemd", "user", "mfad.service")
	os.MkdirAll(filepath.Dir(unit), 0o755)
	writeFile(t, unit, "[Service]\nExecStart=/bin/true\n")
	if res := w.mfad("", nil, "service", "status"); res.exit == 0 || !strings.Contains(res.stdout, "file: "+unit) {
		t.Fatalf("status with a unit on disk: %+v", res)
	}

	w.unsetEnv("MFAD_FILE_PASSPHRASE")
	port, err := net.Listen("tcp", "127.0.0.1:0") // a free port, for this test alone
	if err != nil {
		t.Fatal(err)
	}
	addr := port.Addr().String()
	port.Close()
	t.Cleanup(func() { w.stopDaemon(t) })
	out, err := runClient(t, append(append([]string{}, w.env...), "MFAD="+mfadBin, "MFAD_LISTEN="+addr), "bash", "-c",
		`eval "$("$MFAD" shell-init bash --start)" && "$MFAD" status --json | grep -c '"imds_endpoint": "http://`+addr+`/"' && echo "$AWS_EC2_METADATA_SERVICE_ENDPOINT"`)
	if err != nil || strings.TrimSpace(out) != "1\nhttp://"+addr+"/" {
		log, _ := os.ReadFile(filepath.Join(w.home, ".local", "state", "mfad", "mfad.log"))
		t.Fatalf("shell-init --start: %v\n%s\nlog:\n%s", err, out, log)
	}
}
