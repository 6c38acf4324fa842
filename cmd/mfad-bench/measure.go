package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mfad/mfad/daemon/ststest"
)

// loadRow is one concurrency level's results.
type loadRow struct {
	concurrency   int
	mfad, ceiling loadResult
}

type report struct {
	machine       string
	fresh, alive  []loadRow
	startup       []time.Duration // exec to the IMDS port answering
	status        []time.Duration // `mfad status` wall time
	unlock        []time.Duration // `mfad unlock --code` wall time
	idleRSS       int64           // kB, after unlock
	idleAnon      int64           // kB, of which private (not the binary's shared pages)
	peakRSS       int64           // kB, high-water mark after the load
	cliMfad       []time.Duration // aws configure export-credentials through mfad
	cliEnv        []time.Duration // the same with credentials in the environment
	cliSkipped    string
	failures      int
	credentialDoc string
}

// bench is a user's machine for the benchmark: a home, an AWS config, a
// file keyring, and a fake STS that knows the user.
type bench struct {
	bin  string
	home string
	env  []string
	sts  *ststest.Server
	user ststest.User
	step time.Duration // the fake STS's clock offset, for fresh codes
}

func newBench(bin string) (*bench, error) {
	home, err := os.MkdirTemp("", "mfad-bench-")
	if err != nil {
		return nil, err
	}
	run := filepath.Join(home, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		return nil, err
	}
	user := ststest.NewUser("123456789012", "bench")
	b := &bench{bin: bin, home: home, user: user, sts: ststest.NewServer(user)}
	cfg := filepath.Join(home, "config")
	if err := os.WriteFile(cfg, []byte("[default]\nregion = eu-west-1\nmfa_serial = "+user.MFASerial+"\n"), 0o600); err != nil {
		return nil, err
	}
	b.env = []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_RUNTIME_DIR=" + run, "XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(home, "no-bus"),
		"MFAD_KEYRING_BACKEND=file", "MFAD_FILE_PASSPHRASE=bench",
		"AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"AWS_ENDPOINT_URL_STS=" + b.sts.URL,
	}
	if bin == "" {
		b.bin = filepath.Join(home, "mfad")
		build := exec.Command("go", "build", "-o", b.bin, "./cmd/mfad")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("building mfad (run from the repository's root, or pass -mfad): %w", err)
		}
	}
	return b, nil
}

func (b *bench) close() {
	b.sts.Close()
	os.RemoveAll(b.home)
}

func (b *bench) mfad(args ...string) (time.Duration, error) {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = b.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("mfad %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return took, nil
}

// freshCode moves the fake STS's clock one 30 s step on and returns the
// code for then: every unlock of the run gets a code never used before.
func (b *bench) freshCode() string {
	b.step += 30 * time.Second
	at := b.step
	b.sts.SetClock(func() time.Time { return time.Now().Add(at) })
	return b.user.Code(time.Now().Add(at))
}

type daemon struct {
	cmd  *exec.Cmd
	base string
}

// start runs `mfad serve` and returns once the IMDS port answers a token
// request, with how long that took from exec.
func (b *bench) start() (*daemon, time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(b.bin, "serve", "--listen", addr, "--notify=false")
	cmd.Env = b.env
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	d := &daemon{cmd: cmd, base: "http://" + addr}
	client := &http.Client{Timeout: time.Second}
	for time.Since(start) < 10*time.Second {
		req, _ := http.NewRequest(http.MethodPut, d.base+"/latest/api/token", nil)
		req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "60")
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, time.Since(start), nil
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	d.stop()
	return nil, 0, errors.New("mfad serve did not answer within 10s")
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
}

// rss reads a process's resident set (VmRSS) or high-water mark (VmHWM), in kB.
func rss(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

func sortDurations(ds []time.Duration) { slices.Sort(ds) }

func measure(ctx context.Context, c config) (*report, error) {
	b, err := newBench(c.mfad)
	if err != nil {
		return nil, err
	}
	defer b.close()
	rep := &report{machine: machine()}
	keyEnv := append(b.env, "AWS_ACCESS_KEY_ID="+b.user.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+b.user.SecretAccessKey)
	add := exec.Command(b.bin, "add", "--env", "default")
	add.Env = keyEnv
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mfad add: %v: %s", err, out)
	}

	for range c.runs {
		d, took, err := b.start()
		if err != nil {
			return nil, err
		}
		rep.startup = append(rep.startup, took)
		d.stop()
	}

	d, _, err := b.start()
	if err != nil {
		return nil, err
	}
	defer d.stop()
	for range min(c.runs, 5) {
		took, err := b.mfad("unlock", "--code", b.freshCode())
		if err != nil {
			return nil, err
		}
		rep.unlock = append(rep.unlock, took)
	}
	for range c.runs {
		took, err := b.mfad("status")
		if err != nil {
			return nil, err
		}
		rep.status = append(rep.status, took)
	}
	rep.idleRSS = rss(d.cmd.Process.Pid, "VmRSS")
	rep.idleAnon = rss(d.cmd.Process.Pid, "RssAnon")

	client := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest(http.MethodPut, d.base+"/latest/api/token", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "60")
	token, err := do(client, req)
	if err != nil {
		return nil, err
	}
	req, _ = http.NewRequest(http.MethodGet, d.base+"/latest/meta-data/iam/security-credentials/default", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token", token)
	if rep.credentialDoc, err = do(client, req); err != nil {
		return nil, err
	}
	ceilingBase, stopCeiling, err := serveCeiling(rep.credentialDoc)
	if err != nil {
		return nil, err
	}
	defer stopCeiling()

	for _, fresh := range []bool{true, false} {
		for _, n := range c.levels {
			row := loadRow{concurrency: n}
			// Warm both, then measure each in turn.
			runLoad(d.base, "default", n, min(c.sequences, 500), fresh)
			runLoad(ceilingBase, "default", n, min(c.sequences, 500), fresh)
			row.mfad = runLoad(d.base, "default", n, c.sequences, fresh)
			row.ceiling = runLoad(ceilingBase, "default", n, c.sequences, fresh)
			rep.failures += row.mfad.failures + row.ceiling.failures
			if fresh {
				rep.fresh = append(rep.fresh, row)
			} else {
				rep.alive = append(rep.alive, row)
			}
		}
	}
	rep.peakRSS = rss(d.cmd.Process.Pid, "VmHWM")
	rep.cliMfad, rep.cliEnv, rep.cliSkipped = clientView(b, d, c.runs)
	return rep, nil
}

// clientView times the AWS CLI's `configure export-credentials` getting
// the session through mfad, and with the same credentials in variables.
func clientView(b *bench, d *daemon, runs int) (viaMfad, viaEnv []time.Duration, skipped string) {
	aws, err := exec.LookPath("/usr/bin/aws")
	if err != nil {
		return nil, nil, "AWS CLI v2 (/usr/bin/aws) is not installed"
	}
	issued := b.sts.Issued()
	last := issued[len(issued)-1]
	base := []string{"HOME=" + b.home, "PATH=" + os.Getenv("PATH"), "AWS_CONFIG_FILE=" + filepath.Join(b.home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(b.home, "none")}
	envs := [][]string{
		append(slices.Clone(base), "AWS_EC2_METADATA_SERVICE_ENDPOINT="+d.base+"/"),
		append(slices.Clone(base), "AWS_ACCESS_KEY_ID="+last.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+last.SecretAccessKey, "AWS_SESSION_TOKEN="+last.SessionToken),
	}
	var times [2][]time.Duration
	for i := 0; i < runs+1; i++ {
		for j, env := range envs {
			cmd := exec.Command(aws, "configure", "export-credentials", "--format", "process")
			cmd.Env = env
			start := time.Now()
			out, err := cmd.Output()
			took := time.Since(start)
			if err != nil || !strings.Contains(string(out), last.AccessKeyID) {
				return nil, nil, fmt.Sprintf("aws configure export-credentials failed: %v", err)
			}
			if i > 0 { // the first run warms the page cache
				times[j] = append(times[j], took)
			}
		}
	}
	return times[0], times[1], ""
}
