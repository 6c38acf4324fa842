//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/ststest"
)

// mfadBin is the real mfad binary, built once by TestMain.
var mfadBin string

func TestMain(m *testing.M) {
	if os.Getenv(callerIdentityEnv) != "" {
		callerIdentityMain()
	}
	if os.Getenv(helperEnv) != "" || os.Getenv(floodEnv) != "" || os.Getenv(squatEnv) != "" {
		// A copy of this binary acting as a client for a cross-user test.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "mfad-bin-")
	if err != nil {
		panic(err)
	}
	// Readable by all, for the tests that act as another user.
	if err := os.Chmod(dir, 0o755); err != nil {
		panic(err)
	}
	// mfad and, beside it, the daemon binary that `mfad serve` hands over
	// to, as installed: every test's daemon is mfad-daemon.
	mfadBin = filepath.Join(dir, "mfad")
	for _, pkg := range []string{".", "../mfad-daemon"} {
		build := exec.Command("go", "build", "-o", dir, pkg)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg+":", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is one user's machine: a home, an AWS config, a file keyring and a
// fake STS that knows the user.
type world struct {
	t     *testing.T
	codes map[string]bool // TOTP codes handed out by freshCode
	home  string
	env   []string
	sts   *ststest.Server
	user  ststest.User
}

func newWorld(t *testing.T) *world {
	t.Helper()
	user := ststest.NewUser("123456789012", "alice")
	sts := ststest.NewServer(user)
	t.Cleanup(sts.Close)
	home := t.TempDir()
	runtime := filepath.Join(home, "run")
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(home, "aws-config")
	writeFile(t, cfg, "[default]\nregion = eu-west-1\nmfa_serial = "+user.MFASerial+"\n\n"+
		"[profile nokeys]\nregion = eu-west-1\nmfa_serial = "+user.MFASerial+"\n\n"+
		"[profile nomfa]\nregion = eu-west-1\n")
	w := &world{t: t, home: home, sts: sts, user: user}
	// Its daemons' sessions are not left in the user's kernel keyring,
	// whose quota the user's own mfad shares.
	t.Cleanup(func() { keystore.NewKernelSessions(filepath.Join(runtime, "mfad")).Forget() })
	w.env = []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"XDG_RUNTIME_DIR=" + runtime,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		// No D-Bus: the keyring is the encrypted file, as on a headless box.
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(home, "no-bus"),
		"MFAD_KEYRING_BACKEND=file",
		"MFAD_FILE_PASSPHRASE=test passphrase",
		"AWS_CONFIG_FILE=" + cfg,
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-credentials"),
		"AWS_ENDPOINT_URL_STS=" + sts.URL,
	}
	return w
}

// freshCode returns a code of the user's that STS accepts now and this
// world has not used.
func (w *world) freshCode() string {
	w.t.Helper()
	if w.codes == nil {
		w.codes = map[string]bool{}
	}
	c := w.unusedCode(w.user.Code, w.codes)
	w.codes[c] = true
	return c
}

// unusedCode returns the code of an authenticator (code, for a time) that
// STS accepts now and that is not in used. STS takes the codes of the
// previous, current and next 30 s step of its clock, once. The previous
// step's code is taken only while STS will still accept it when the
// request reaches it (it lapses when this step ends). With none left, the
// fake STS's clock moves one step on, as the next step would bring a new
// code, rather than the test waiting for it.
func (w *world) unusedCode(code func(time.Time) string, used map[string]bool) string {
	const step = 30 * time.Second
	for {
		now := w.sts.Now()
		left := step - time.Duration(now.UnixNano()%int64(step))
		for _, at := range []time.Duration{0, step, -step} {
			if at < 0 && left < 10*time.Second {
				break
			}
			if c := code(now.Add(at)); !used[c] {
				return c
			}
		}
		skew := time.Until(now) + step
		w.sts.SetClock(func() time.Time { return time.Now().Add(skew) })
	}
}

// unsetEnv removes variables from the environment mfad runs with.
func (w *world) unsetEnv(names ...string) {
	env := w.env[:0]
	for _, kv := range w.env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, k) {
			env = append(env, kv)
		}
	}
	w.env = env
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	stdout, stderr string
	exit           int
}

// mfad runs the binary to completion.
func (w *world) mfad(stdin string, extraEnv []string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mfadBin, args...)
	cmd.Env = append(append([]string{}, w.env...), extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errOut.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		res.exit = exitErr.ExitCode()
	} else if err != nil {
		w.t.Fatalf("mfad %v: %v", args, err)
	}
	return res
}

// addKeys stores the user's keys for the default profile.
func (w *world) addKeys() {
	w.t.Helper()
	res := w.mfad("", []string{"AWS_ACCESS_KEY_ID=" + w.user.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + w.user.SecretAccessKey}, "add", "--env", "default")
	if res.exit != 0 {
		w.t.Fatalf("add: %+v", res)
	}
}

// mustMfad runs the binary and fails the test unless it exits 0.
func (w *world) mustMfad(args ...string) string {
	w.t.Helper()
	res := w.mfad("", nil, args...)
	if res.exit != 0 {
		w.t.Fatalf("mfad %v: exit %d\n%s", args, res.exit, res.stderr)
	}
	return res.stdout
}

// runningDaemon is a running `mfad serve`.
type runningDaemon struct {
	cmd      *exec.Cmd
	endpoint string
	exited   chan error
}

var servingLine = regexp.MustCompile(`msg="mfad is serving" imds=(\S+)`)

// serve starts `mfad serve` on a free port and waits until it serves.
func (w *world) serve(args ...string) *runningDaemon {
	w.t.Helper()
	d, _ := w.serveLogged(args...)
	return d
}

// exitedEarly is ready when the daemon has exited.
func (d *runningDaemon) exitedEarly() <-chan error { return d.exited }

// stop ends the daemon with SIGTERM and waits for it to exit cleanly.
func (d *runningDaemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
}

// serveLogged is serve, also returning everything the daemon logs.
func (w *world) serveLogged(args ...string) (*runningDaemon, *syncBuffer) {
	w.t.Helper()
	return w.serveWith(nil, args...)
}

// serveWith is serveLogged with a say in how the daemon is started.
func (w *world) serveWith(adjust func(*exec.Cmd), args ...string) (*runningDaemon, *syncBuffer) {
	w.t.Helper()
	logs := &syncBuffer{}
	cmd := exec.Command(mfadBin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append([]string{}, w.env...)
	if adjust != nil {
		adjust(cmd)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	d := &runningDaemon{cmd: cmd, exited: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
		d.exited <- cmd.Wait()
	}()
	w.t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case d.endpoint = <-ready:
	case err := <-d.exited:
		w.t.Fatalf("mfad serve exited before serving: %v", err)
	case <-time.After(20 * time.Second):
		w.t.Fatal("mfad serve did not start serving within 20s")
	}
	return d, logs
}

// syncBuffer collects text written from one goroutine and read from another.
type syncBuffer struct {
	mu   sync.Mutex
	b    strings.Builder
	more chan struct{} // closed and replaced at each write
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
	if b.more != nil {
		close(b.more)
	}
	b.more = make(chan struct{})
}

// waitFor waits until the text contains s.
func (b *syncBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		b.mu.Lock()
		if b.more == nil {
			b.more = make(chan struct{})
		}
		text, more := b.b.String(), b.more
		b.mu.Unlock()
		if strings.Contains(text, s) {
			return
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("never saw %q in:\n%s", s, text)
		}
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// sdkCredentials loads credentials the way any Go program does, with the
// environment a user gets from `eval "$(mfad env)"`.
func (w *world) sdkCredentials(endpoint string) (key, secretKey, token string, expires time.Time, err error) {
	w.t.Helper()
	for _, kv := range w.env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			w.t.Setenv(k, v)
		}
	}
	w.t.Setenv("AWS_ENDPOINT_URL_STS", "")
	w.t.Setenv("AWS_ACCESS_KEY_ID", "")
	w.t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	w.t.Setenv("AWS_PROFILE", "")
	w.t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return "", "", "", time.Time{}, err
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	return c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expires, err
}

func expectFailure(t *testing.T, res result, wantMsg, wantHint string) {
	t.Helper()
	if res.exit == 0 {
		t.Fatalf("exit 0, want failure %q", wantMsg)
	}
	if !strings.Contains(res.stderr, "mfad: ") || !strings.Contains(res.stderr, wantMsg) || !strings.Contains(res.stderr, "hint: ") || !strings.Contains(res.stderr, wantHint) {
		t.Fatalf("stderr %q, want %q with hint %q", res.stderr, wantMsg, wantHint)
	}
}

func TestEndToEnd(t *testing.T) {
	w := newWorld(t)

	// Store the IAM user's keys from the environment.
	res := w.mfad("", []string{"AWS_ACCESS_KEY_ID=" + w.user.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + w.user.SecretAccessKey}, "add", "--env", "default")
	if res.exit != 0 || !strings.Contains(res.stdout, "stored access key ****************"+w.user.AccessKeyID[16:]+" for profile default in the file keyring") {
		t.Fatalf("add: %+v", res)
	}
	if out := w.mustMfad("list"); !strings.Contains(out, "default") || strings.Contains(out, w.user.AccessKeyID) {
		t.Fatalf("list: %q", out)
	}

	d := w.serve()
	env := w.mustMfad("env")
	wantEnv := "unset AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\nexport AWS_EC2_METADATA_SERVICE_ENDPOINT='" + d.endpoint + "'\n"
	if env != wantEnv || !strings.HasSuffix(d.endpoint, "/") || !strings.HasPrefix(d.endpoint, "http://127.0.0.1:") {
		t.Fatalf("env printed %q, want %q", env, wantEnv)
	}
	endpoint := parseExports(t, env)["AWS_EC2_METADATA_SERVICE_ENDPOINT"]

	// Locked: the SDK gets no credentials, and says why.
	if _, _, _, _, err := w.sdkCredentials(endpoint); err == nil || !strings.Contains(err.Error(), "mfad unlock") {
		t.Fatalf("SDK while locked: %v, want an error telling to run mfad unlock", err)
	}
	var st struct {
		Profiles []struct{ Name, State, Expiration string }
	}
	if err := json.Unmarshal([]byte(w.mustMfad("status", "--json")), &st); err != nil || len(st.Profiles) != 3 || st.Profiles[0].Name != "default" || st.Profiles[0].State != "locked" || st.Profiles[0].Expiration != "" {
		t.Fatalf("status while locked: %+v %v", st, err)
	}

	code := w.user.Code(time.Now())
	if out := w.mustMfad("unlock", "--code", code); !strings.Contains(out, "unlocked profile default until") {
		t.Fatalf("unlock printed %q", out)
	}
	issued := w.sts.Issued()
	if len(issued) != 1 {
		t.Fatalf("STS issued %d sessions", len(issued))
	}
	key, secretKey, token, expires, err := w.sdkCredentials(endpoint)
	if err != nil {
		t.Fatalf("SDK after unlock: %v", err)
	}
	// The Go SDK caps what it caches from IMDS at an hour; anything else
	// would mean it read a different expiry.
	wantExpires := issued[0].Expiration
	if hour := time.Now().Add(time.Hour); wantExpires.After(hour) {
		wantExpires = hour
	}
	if key != issued[0].AccessKeyID || secretKey != issued[0].SecretAccessKey || token != issued[0].SessionToken || expires.Sub(wantExpires).Abs() > 5*time.Second {
		t.Fatalf("SDK got %s expiring %s, STS issued %s expiring %s", key, expires, issued[0].AccessKeyID, issued[0].Expiration)
	}
	if err := json.Unmarshal([]byte(w.mustMfad("status", "--json")), &st); err != nil || st.Profiles[0].State != "unlocked" || st.Profiles[0].Expiration != issued[0].Expiration.Format(time.RFC3339) {
		t.Fatalf("status while unlocked: %+v %v", st, err)
	}
	text := w.mustMfad("status")
	if !regexp.MustCompile(`default\s+-\s+unlocked\s+\d{4}-\d\d-\d\d \d\d:\d\d \S+ \(in \d+h\d+m\)\s+\d{4}-`).MatchString(text) ||
		!regexp.MustCompile(`credentials served [1-9]\d*, refused while locked 1;`).MatchString(text) {
		t.Fatalf("status text:\n%s", text)
	}

	// The same code again, and a wrong one: clear refusals, session intact.
	expectFailure(t, w.mfad("", nil, "unlock", "--renew", "--code", code), "that code was already used", "wait for your authenticator to show the next code")
	expectFailure(t, w.mfad("", nil, "unlock", "--renew", "--code", w.user.Code(time.Now().Add(-time.Hour))), "AWS refused the MFA code", "wait for your authenticator to show the next code")
	expectFailure(t, w.mfad("", nil, "unlock", "--renew", "--code", "12345"), "6 digits", "current code")
	expectFailure(t, w.mfad("", nil, "unlock", "--renew"), "no input", "pass --code")
	expectFailure(t, w.mfad("", nil, "unlock", "--profile", "nokeys", "--code", w.user.Code(time.Now())), "no access key is stored for profile nokeys", "mfad add nokeys")
	expectFailure(t, w.mfad("", nil, "unlock", "--profile", "nomfa", "--code", w.user.Code(time.Now())), "profile nomfa has no mfa_serial", "mfa_serial = arn:aws:iam::")
	expectFailure(t, w.mfad("", nil, "unlock", "--profile", "ghost", "--code", w.user.Code(time.Now())), "no profile ghost in ", "[profile ghost]")
	if key2, _, _, _, err := w.sdkCredentials(endpoint); err != nil || key2 != key {
		t.Fatalf("session changed by refused unlocks: %v %v", key2, err)
	}
	if n := len(w.sts.Calls()); n != 2 {
		t.Fatalf("STS saw %d calls, want 2 (the good code and the wrong one)", n)
	}

	// A code on stdin, as from a password manager or oathtool.
	res = w.mfad(w.user.Code(time.Now().Add(30*time.Second))+"\n", nil, "unlock", "--renew")
	if res.exit != 0 {
		t.Fatalf("unlock from stdin: %+v", res)
	}

	if out := w.mustMfad("lock"); out != "locked the MFA session of profile default\n" {
		t.Fatalf("lock printed %q", out)
	}
	if _, _, _, _, err := w.sdkCredentials(endpoint); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("SDK after lock: %v", err)
	}

	// SIGTERM: a clean exit that removes the socket.
	socket := filepath.Join(w.home, "run", "mfad", "mfad.sock")
	if _, err := os.Stat(socket); err != nil {
		t.Fatalf("socket: %v", err)
	}
	d.stop(t)
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Fatalf("socket left after shutdown: %v", err)
	}
	expectFailure(t, w.mfad("", nil, "unlock", "--code", "123456"), "is it running?", "mfad serve")
	expectFailure(t, w.mfad("", nil, "status"), "is it running?", "mfad serve")
}

// TestJournaldLogs: under systemd (JOURNAL_STREAM set) the log leaves the
// time stamp to the journal.
func TestJournaldLogs(t *testing.T) {
	w := newWorld(t)
	_, logs := w.serveLogged()
	if !strings.HasPrefix(logs.String(), "time=") {
		t.Fatalf("terminal log without time: %q", logs)
	}
	w2 := newWorld(t)
	w2.env = append(w2.env, "JOURNAL_STREAM=8:12345")
	_, logs = w2.serveLogged()
	if !strings.HasPrefix(logs.String(), "level=INFO msg=") {
		t.Fatalf("journal log: %q", logs)
	}
}

func TestServeRefusals(t *testing.T) {
	w := newWorld(t)
	expectFailure(t, w.mfad("", nil, "serve", "--listen", "0.0.0.0:9911"), "loopback only", "--listen 127.0.0.1:PORT")
	for _, host := range []string{"localhost", "LOCALHOST", "localhost."} {
		expectFailure(t, w.mfad("", nil, "serve", "--listen", host+":9911"), "clients may resolve localhost to ::1", "use --listen 127.0.0.1:9911")
		expectFailure(t, w.mfad("", nil, "service", "install", "--listen", host+":9911"), "clients may resolve localhost to ::1", "use --listen 127.0.0.1:9911")
	}
	expectFailure(t, w.mfad("", nil, "serve", "--listen", "127.0.0.1:0", "--profile", "ghost"), "no profile ghost in ", "[profile ghost]")

	w.serve()
	res := w.mfad("", nil, "serve", "--listen", "127.0.0.1:0")
	expectFailure(t, res, "mfad is already running", "mfad status")
}

// TestFreshMachine starts the daemon before anything is configured, as the
// README's install command does, then configures it while it runs.
func TestFreshMachine(t *testing.T) {
	w := newWorld(t)
	cfg := filepath.Join(w.home, "aws-config")
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	d := w.serve()
	expectFailure(t, w.mfad("", nil, "unlock", "--code", "123456"), "profile default has no mfa_serial", "[default]")

	writeFile(t, cfg, "[default]\nregion = ca-central-1\nmfa_serial = "+w.user.MFASerial+"\n")
	expectFailure(t, w.mfad("", nil, "unlock", "--code", w.user.Code(time.Now())), "no access key is stored for profile default", "mfad add default")
	res := w.mfad(w.user.AccessKeyID+"\n"+w.user.SecretAccessKey+"\n", nil, "add", "default")
	if res.exit != 0 {
		t.Fatalf("add from stdin: %+v", res)
	}
	w.mustMfad("unlock", "--code", w.user.Code(time.Now().Add(30*time.Second)))
	key, _, _, _, err := w.sdkCredentials(d.endpoint)
	if err != nil || key != w.sts.Issued()[0].AccessKeyID {
		t.Fatalf("SDK: %s, %v", key, err)
	}
	region, err := imdsRegion(d.endpoint)
	if err != nil || region != "ca-central-1" {
		t.Fatalf("region from IMDS: %q, %v", region, err)
	}
}

// imdsRegion asks the endpoint for the region as aws-sdk-go-v2 does.
func imdsRegion(endpoint string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := imds.New(imds.Options{Endpoint: endpoint}).GetRegion(ctx, nil)
	if err != nil {
		return "", err
	}
	return out.Region, nil
}

func TestKeyManagement(t *testing.T) {
	w := newWorld(t)
	keyEnv := func(id, secretKey string) []string {
		return []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secretKey}
	}
	// Bad input is refused and nothing is stored.
	expectFailure(t, w.mfad("", keyEnv("ASIA"+w.user.AccessKeyID[4:], w.user.SecretAccessKey), "add", "--env", "default"), "temporary session key", "AKIA")
	expectFailure(t, w.mfad("", keyEnv(w.user.AccessKeyID, "too-short"), "add", "--env", "default"), "does not look like a secret access key", "secret access key")
	expectFailure(t, w.mfad("", keyEnv("", ""), "add", "--env", "default"), "--env needs both", "export both")
	expectFailure(t, w.mfad("", nil, "add", "default"), "no input", "pipe the key ID and the secret")
	if res := w.mfad("", nil, "list"); res.exit != 0 || res.stdout != "" || !strings.Contains(res.stderr, "no access keys are stored") {
		t.Fatalf("list after refused adds: %+v", res)
	}

	if res := w.mfad("", keyEnv(w.user.AccessKeyID, w.user.SecretAccessKey), "add", "--env", "default"); res.exit != 0 {
		t.Fatalf("add: %+v", res)
	}
	res := w.mfad("", keyEnv(w.user.AccessKeyID, w.user.SecretAccessKey), "add", "--env", "default")
	if res.exit != 0 || !strings.Contains(res.stdout, "already stored") {
		t.Fatalf("adding the same key again: %+v", res)
	}
	other := ststest.NewUser("123456789012", "bob")
	expectFailure(t, w.mfad("", keyEnv(other.AccessKeyID, other.SecretAccessKey), "add", "--env", "default"), "already has access key", "--force")
	if res := w.mfad("", keyEnv(other.AccessKeyID, other.SecretAccessKey), "add", "--env", "--force", "default"); res.exit != 0 {
		t.Fatalf("add --force: %+v", res)
	}
	if out := w.mustMfad("list"); !strings.Contains(out, secretMask(other.AccessKeyID)) {
		t.Fatalf("list after --force: %q", out)
	}

	// Removing needs a confirmation: none on a pipe, so nothing happens.
	expectFailure(t, w.mfad("y\n", nil, "remove", "default"), "nothing removed", "--yes")
	if out := w.mustMfad("remove", "--yes", "default"); !strings.Contains(out, "removed access key") {
		t.Fatalf("remove: %q", out)
	}
	expectFailure(t, w.mfad("", nil, "remove", "--yes", "default"), "no access key is stored for profile default", "mfad add default")
}

func secretMask(id string) string { return strings.Repeat("*", len(id)-4) + id[len(id)-4:] }

// unlockedThenKilled is a world whose daemon unlocked profile default and
// was then killed outright (kill -9), with the session STS issued it.
func unlockedThenKilled(t *testing.T) (*world, ststest.Credentials) {
	t.Helper()
	w := newWorld(t)
	w.addKeys()
	d := w.serve()
	w.mustMfad("unlock", "--code", w.freshCode())
	issued := w.sts.Issued()[0]
	d.cmd.Process.Kill()
	<-d.exited
	return w, issued
}

// TestRestartKeepsSession kills the daemon outright and starts it again:
// the session comes back from the keyring without a new code. A session
// that ended while the daemon was down does not, and is purged.
func TestRestartKeepsSession(t *testing.T) {
	w, issued := unlockedThenKilled(t)
	d := w.serve()
	key, _, token, _, err := w.sdkCredentials(d.endpoint)
	if err != nil || key != issued.AccessKeyID || token != issued.SessionToken {
		t.Fatalf("after kill -9 and restart: %s, %v", key, err)
	}
	if len(w.sts.Calls()) != 1 {
		t.Fatalf("STS called again: %d calls", len(w.sts.Calls()))
	}

	// A session that ends while the daemon is down.
	w.sts.SetSessionLifetime(2 * time.Second)
	w.mustMfad("unlock", "--renew", "--code", w.freshCode())
	short := w.sts.Issued()[1]
	d.cmd.Process.Kill()
	<-d.exited
	<-time.After(time.Until(short.Expiration) + 100*time.Millisecond)
	d, logs := w.serveLogged()
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("expired session restored: %v", err)
	}
	if strings.Contains(logs.String(), "restored sessions") {
		t.Fatalf("daemon restored an expired session:\n%s", logs)
	}

	// mfad lock removes the kept session too, and the expired one was
	// purged: the next daemon restores nothing.
	w.sts.SetSessionLifetime(0)
	w.mustMfad("unlock", "--code", w.freshCode())
	w.mustMfad("lock")
	d.stop(t)
	d, logs = w.serveLogged()
	if strings.Contains(logs.String(), "restored") {
		t.Fatalf("a locked or expired session came back:\n%s", logs)
	}
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err == nil {
		t.Fatal("a locked session came back after restart")
	}
}

// TestSTSFailuresAsUsersSeeThem makes STS fail in every way it can and
// checks, word for word, what `mfad unlock` prints.
func TestSTSFailuresAsUsersSeeThem(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	w.serve()
	// A failing STS never looks at the code: any unused six digits do.
	code := 100000
	for _, tc := range []struct {
		name   string
		fault  ststest.Fault
		delay  time.Duration
		stderr string
	}{
		{"throttled", ststest.Throttle, 0, "mfad: AWS is throttling requests to STS\nhint: wait a minute, then unlock with a new code\n"},
		{"internal error", ststest.InternalError, 0, "mfad: STS failed: InternalFailure: The request processing has failed because of an unknown error, exception or failure.\n"},
		{"garbage", ststest.Garbage, 0, "mfad: the answer from STS is not an STS response (XML syntax error on line 1: unexpected EOF)\nhint: a proxy or a wrong AWS_ENDPOINT_URL_STS may stand in the way; wait for the next code and try again\n"},
		{"dropped connection", ststest.DropConnection, 0, "mfad: STS at " + w.sts.URL + " closed the connection without answering\nhint: the code may have been used: wait for the next one, then unlock again\n"},
		{"slow", ststest.NoFault, 20 * time.Second, "mfad: STS did not answer within 15s\nhint: check your network connection; the code may have been used, so wait for the next one\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.sts.SetFault(tc.fault)
			w.sts.SetDelay(tc.delay)
			defer w.sts.SetFault(ststest.NoFault)
			defer w.sts.SetDelay(0)
			before := len(w.sts.Calls())
			code++
			res := w.mfad("", nil, "unlock", "--code", strconv.Itoa(code))
			if res.exit == 0 {
				t.Fatal("unlock succeeded")
			}
			if tc.stderr != "" && res.stderr != tc.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", res.stderr, tc.stderr)
			}
			if !strings.HasPrefix(res.stderr, "mfad: ") || strings.Count(res.stderr, "\n") > 2 {
				t.Errorf("not one line of advice: %q", res.stderr)
			}
			if n := len(w.sts.Calls()) - before; n != 1 {
				t.Errorf("STS saw the code %d times", n)
			}
		})
	}

	// STS unreachable: the daemon says which endpoint it tried.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	w2 := newWorld(t)
	w2.unsetEnv("AWS_ENDPOINT_URL_STS")
	w2.env = append(w2.env, "AWS_ENDPOINT_URL_STS="+closed)
	w2.addKeys()
	w2.serve()
	res := w2.mfad("", nil, "unlock", "--code", w2.freshCode())
	want := "mfad: could not reach STS at " + closed + ": connection refused\nhint: check your network connection (and AWS_ENDPOINT_URL_STS, if set), then unlock with the next code\n"
	if res.stderr != want {
		t.Errorf("unreachable STS:\n%s\nwant:\n%s", res.stderr, want)
	}
}

// TestFreshCodes: a test may unlock more often than TOTP makes new codes
// (three per 30 s window); each code freshCode hands out is one STS takes.
func TestFreshCodes(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	w.serve()
	for i := range 5 {
		if res := w.mfad("", nil, "unlock", "--renew", "--code", w.freshCode()); res.exit != 0 {
			t.Fatalf("unlock %d: %+v", i+1, res)
		}
	}
	if n := len(w.sts.Issued()); n != 5 {
		t.Fatalf("STS issued %d sessions for 5 unlocks", n)
	}
}
