package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mfad/mfad/daemon/ststest"
)

// row is one load shape, measured against every server in turn.
type row struct {
	container   bool
	fresh       bool
	concurrency int
	servers     []string       // mfad first, then bare, then the peers
	reps        [][]loadResult // reps[i][j]: repetition i, server j
}

type report struct {
	machine    string
	build      string
	duration   time.Duration
	reps       int           // repetitions of each load shape
	turn       time.Duration // the longest turn of one server (config.slice, evened out)
	rows       []row
	startup    []time.Duration // the login service's command, exec to the first credential document
	startupCA  []time.Duration // the same with AWS_CA_BUNDLE set
	serveStart []time.Duration // `mfad serve` by hand, which hands over to mfad-daemon
	startCmd   string          // what startup ran
	bareStart  []time.Duration // the bare server, exec to its first answer
	startAfter []int           // for each start-up round, how many load shapes had run before it
	status     []time.Duration // `mfad status` wall time
	unlock     []time.Duration // `mfad unlock --code` wall time
	idle       memory          // the daemon after unlock, idle
	idleAfter  time.Duration   // how long after its last request
	peers      map[string]memory
	peakRSS    int64 // kB, high-water mark after the load
	allocs     float64
	allocsErr  string
	cliMfad    []time.Duration // aws configure export-credentials through mfad
	cliEnv     []time.Duration // the same with credentials in the environment
	cliSkipped string
	failures   []string
}

// memory is a process's resident set and the private part of it, in kB.
type memory struct{ rss, private int64 }

func readMemory(pid int) memory {
	return memory{rss: procStatus(pid, "VmRSS"), private: procStatus(pid, "RssAnon")}
}

// idleAfter is how long after its last request a server counts as idle,
// by default.
const idleAfter = 31 * time.Second

// bench is a user's machine for the benchmark: a home, an AWS config, a
// file keyring, and a fake STS that knows the user.
type bench struct {
	bin    string
	daemon string // mfad-daemon beside bin, or "" when there is none
	home   string
	env    []string
	// startEnv gives the daemons whose start-up is timed a runtime
	// directory of their own: they start while the load's daemon serves,
	// and a daemon's socket, and its sessions' entry in the kernel's
	// keyring, go by that directory.
	startEnv []string
	sts      *ststest.Server
	user     ststest.User
	step     time.Duration // the fake STS's clock offset, for fresh codes
}

// profileTag is serve.ProfileTag (not imported: the peers run from this
// binary, which should stay small).
const profileTag = "mfadprofile"

// releaseFlags build mfad as packaging/build.sh does: the binary users run.
var releaseFlags = []string{"-trimpath", "-ldflags=-s -w"}

// newBench builds mfad, or takes bin; profiling builds it with the tag that
// lets the daemon write CPU profiles (serve.ProfileTag), which release
// builds leave out.
func newBench(bin string, profiling bool) (*bench, error) {
	home, err := os.MkdirTemp("", "mfad-bench-")
	if err != nil {
		return nil, err
	}
	run, startRun := filepath.Join(home, "run"), filepath.Join(home, "run-start")
	for _, dir := range []string{run, startRun} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
	}
	user := ststest.NewUser("123456789012", "bench")
	b := &bench{bin: bin, home: home, user: user, sts: ststest.NewServer(user), startEnv: []string{"XDG_RUNTIME_DIR=" + startRun}}
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
		// Both binaries, as packaging/build.sh builds and installs them.
		b.bin = filepath.Join(home, "mfad")
		flags := releaseFlags
		if profiling {
			flags = append(slices.Clone(flags), "-tags", profileTag)
		}
		build := exec.Command("go", append(append([]string{"build"}, flags...), "-o", home, "./cmd/mfad", "./cmd/mfad-daemon")...)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("building mfad (run from the repository's root, or pass -mfad): %w", err)
		}
	}
	if daemon := filepath.Join(filepath.Dir(b.bin), "mfad-daemon"); fileExists(daemon) {
		b.daemon = daemon
	}
	return b, nil
}

// unlock stores the user's keys and unlocks the session times (the
// first starts it, the others renew it), with how long each unlock took,
// then once more for the start-up rounds' runtime directory (startEnv).
// The session stays in the keyrings: each daemon started after restores
// it, from the kernel's keyring, as at a restart.
func (b *bench) unlock(times int) ([]time.Duration, error) {
	add := exec.Command(b.bin, "add", "--env", "default")
	add.Env = append(slices.Clone(b.env), "AWS_ACCESS_KEY_ID="+b.user.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+b.user.SecretAccessKey)
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mfad add: %v: %s", err, out)
	}
	took, err := b.unlockIn(nil, times)
	if err != nil {
		return nil, err
	}
	if _, err := b.unlockIn(b.startEnv, 1); err != nil {
		return nil, err
	}
	return took, nil
}

// unlockIn starts a daemon with extra environment and unlocks it times.
func (b *bench) unlockIn(extra []string, times int) ([]time.Duration, error) {
	d, _, err := b.start([]string{b.bin, "serve"}, false, nil, extra...)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	var took []time.Duration
	for range times {
		_, t, err := b.mfadIn(extra, "unlock", "--renew", "--code", b.freshCode())
		if err != nil {
			return nil, err
		}
		took = append(took, t)
	}
	return took, nil
}

// containerToken is the container endpoint's token, from the daemon running
// (`mfad env --container`).
func (b *bench) containerToken() (string, error) {
	env, _, err := b.mfad("env", "--container")
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`AWS_CONTAINER_AUTHORIZATION_TOKEN='?([^'\s;]+)`).FindStringSubmatch(env)
	if m == nil {
		return "", fmt.Errorf("no container token in `mfad env --container`: %s", env)
	}
	return m[1], nil
}

func (b *bench) close() {
	b.sts.Close()
	os.RemoveAll(b.home)
}

func (b *bench) mfad(args ...string) (string, time.Duration, error) {
	return b.mfadIn(nil, args...)
}

// mfadIn runs mfad with extra environment, with how long it took.
func (b *bench) mfadIn(extra []string, args ...string) (string, time.Duration, error) {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(slices.Clone(b.env), extra...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return "", took, fmt.Errorf("mfad %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), took, nil
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
	addr string
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// serviceCommand is what the login service runs (`mfad service unit`):
// mfad-daemon when it is installed beside mfad, else `mfad serve`.
func (b *bench) serviceCommand() []string {
	if b.daemon != "" {
		return []string{b.daemon}
	}
	return []string{b.bin, "serve"}
}

// start runs the daemon by command (the service's, or `mfad serve`) with
// extra environment and returns once the IMDS port serves a credential
// document (ready) or answers at all, with how long that took from exec.
func (b *bench) start(command []string, ready bool, args []string, extra ...string) (*daemon, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	addr := "127.0.0.1:" + port
	cmd := exec.Command(command[0], append(append(command[1:], "--listen", addr, "--notify=false"), args...)...)
	cmd.Env = append(slices.Clone(b.env), extra...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	d := &daemon{cmd: cmd, addr: addr}
	c := &client{e: endpoint{addr: addr}}
	defer c.close()
	for time.Since(start) < 10*time.Second {
		var err error
		if ready {
			err = c.sequence()
		} else if err = c.connect(); err == nil {
			_, err = c.do("PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds", "60")
		}
		if err == nil {
			return d, time.Since(start), nil
		}
		c.close()
		time.Sleep(100 * time.Microsecond)
	}
	d.stop()
	return nil, 0, errors.New("mfad serve did not serve credentials within 10s")
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// procStatus reads a field in kB of /proc/PID/status.
func procStatus(pid int, field string) int64 {
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

// cpuTime is a process's CPU time, user and system, all threads.
func cpuTime(pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command's name, which may hold spaces.
	i := strings.LastIndexByte(string(stat), ')')
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ, what /proc reports in on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

func measure(ctx context.Context, c config) (*report, error) {
	b, err := newBench(c.mfad, c.cpuProfile != "")
	if err != nil {
		return nil, err
	}
	defer b.close()
	rep := &report{machine: machine(), duration: c.duration, reps: c.reps, turn: c.duration / time.Duration(c.rounds()), peers: map[string]memory{}, build: "release (CGO_ENABLED=0 -trimpath -ldflags='-s -w')"}
	if c.cpuProfile != "" {
		rep.build = "release with -tags " + profileTag + ", for -cpuprofile (it links runtime/pprof, which turns heap profiling on: not the figures of a release)"
	}
	if c.mfad != "" {
		rep.build = c.mfad
	}
	rep.startCmd = strings.Join(b.serviceCommand(), " ")
	rep.startCmd = strings.ReplaceAll(rep.startCmd, filepath.Dir(b.bin)+"/", "")
	if rep.unlock, err = b.unlock(min(c.runs, 5)); err != nil {
		return nil, err
	}

	var serveArgs []string
	if c.cpuProfile != "" {
		serveArgs = []string{"--cpuprofile", c.cpuProfile}
	}
	d, _, err := b.start([]string{b.bin, "serve"}, true, serveArgs)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	for range c.runs {
		_, took, err := b.mfad("status")
		if err != nil {
			return nil, err
		}
		rep.status = append(rep.status, took)
	}
	token, err := b.containerToken()
	if err != nil {
		return nil, err
	}
	mfadIMDS := endpoint{name: "mfad", addr: d.addr, pid: d.pid()}
	mfadContainer := endpoint{name: "mfad", addr: d.addr, pid: d.pid(), container: "/profiles/default", authorization: token}

	// The documents the peers serve: mfad's own.
	docs := filepath.Join(b.home, "docs")
	if err := os.Mkdir(docs, 0o700); err != nil {
		return nil, err
	}
	dc := &client{e: mfadIMDS}
	if err := dc.sequence(); err != nil {
		return nil, err
	}
	imdsDoc := filepath.Join(docs, "imds.json")
	os.WriteFile(imdsDoc, dc.body, 0o600)
	dc.close()
	dc = &client{e: mfadContainer}
	if err := dc.sequence(); err != nil {
		return nil, err
	}
	containerDoc := filepath.Join(docs, "container.json")
	os.WriteFile(containerDoc, dc.body, 0o600)
	dc.close()

	bundle, err := writeCABundle(b.home)
	if err != nil {
		return nil, err
	}
	shapesRun := 0
	startRounds := func(n int) error {
		for range n {
			rep.startAfter = append(rep.startAfter, shapesRun)
			if err := b.startRound(rep, bundle, imdsDoc, containerDoc); err != nil {
				return err
			}
		}
		return nil
	}

	bare, err := startPeer("bare", imdsDoc, containerDoc, c.cpuProfile, 1)
	if err != nil {
		return nil, err
	}
	defer bare.stop()
	vault, err := startPeer("aws-vault", imdsDoc, containerDoc, c.cpuProfile, 2)
	if err != nil {
		return nil, err
	}
	defer vault.stop()
	mock, err := startMetadataMock(filepath.Join(b.home, "mock"))
	if err != nil {
		return nil, err
	}
	defer mock.stop()

	imdsServers := []endpoint{mfadIMDS, {name: "bare", addr: bare.addrs[0], pid: bare.pid()}, {name: "aws-vault", addr: vault.addrs[0], pid: vault.pid()}}
	containerServers := []endpoint{mfadContainer,
		{name: "bare", addr: bare.addrs[0], pid: bare.pid(), container: "/profiles/default", authorization: benchContainerToken},
		{name: "aws-vault", addr: vault.addrs[1], pid: vault.pid(), container: "/", authorization: benchContainerToken}}
	mockServer := endpoint{name: "ec2-metadata-mock", addr: mock.addrs[0], pid: mock.pid()}

	// Idle after unlock, and after a few credential fetches, for all.
	for _, e := range append(slices.Clone(imdsServers), mockServer) {
		c := &client{e: e}
		for range 3 {
			if err := c.sequence(); err != nil {
				return nil, fmt.Errorf("%s: %w", e.name, err)
			}
		}
		c.close()
	}
	// Idle: as long after them as the daemon waits before it hands back
	// memory (daemon.IdleTrimAfter, 30 s; not imported, which would grow
	// the peers' binary), and a second.
	time.Sleep(c.idle)
	rep.idle, rep.idleAfter = readMemory(d.pid()), c.idle
	for _, p := range []*process{bare, vault, mock} {
		rep.peers[p.name] = readMemory(p.pid())
	}

	// The container endpoint's targets are at 8 and 32 clients: the full
	// run leaves it out at one.
	shapes := slices.DeleteFunc(c.shapes(), func(s shape) bool { return s.container && s.n == 1 })
	rep.rows = make([]row, len(shapes))
	order := keptAliveFirst(shapes)
	rounds := spread(c.runs, len(order)+1)
	for k, i := range order {
		if err := startRounds(rounds[k]); err != nil {
			return nil, err
		}
		s := shapes[i]
		servers := imdsServers
		switch {
		case s.container:
			servers = containerServers
		case s.n == 1:
			servers = append(slices.Clone(servers), mockServer)
		}
		rep.rows[i] = loadRows(c, s.container, s.fresh, s.n, servers)
		shapesRun++
	}
	if err := startRounds(rounds[len(order)]); err != nil {
		return nil, err
	}
	for _, r := range rep.rows {
		for _, results := range r.reps {
			for j, res := range results {
				if res.failures > 0 {
					rep.failures = append(rep.failures, fmt.Sprintf("%s, %s: %d sequences failed, first: %v", r.title(), r.servers[j], res.failures, res.firstErr))
				}
			}
		}
	}
	rep.peakRSS = procStatus(d.pid(), "VmHWM")
	rep.allocs, rep.allocsErr = handlerAllocs()
	rep.cliMfad, rep.cliEnv, rep.cliSkipped = clientView(b, d, c.runs)
	return rep, nil
}

// startRound starts, once each, what the login service runs (with and
// without a CA bundle) and `mfad serve` by hand, each restoring its
// session from the kernel's keyring as at a restart, and, for scale, the
// bare server; it records how long each took from exec to its first
// credential document.
func (b *bench) startRound(rep *report, bundle, imdsDoc, containerDoc string) error {
	for _, run := range []struct {
		command []string
		extra   []string
		into    *[]time.Duration
	}{
		{b.serviceCommand(), nil, &rep.startup},
		{b.serviceCommand(), []string{"AWS_CA_BUNDLE=" + bundle}, &rep.startupCA},
		{[]string{b.bin, "serve"}, nil, &rep.serveStart},
	} {
		d, took, err := b.start(run.command, true, nil, append(slices.Clone(b.startEnv), run.extra...)...)
		if err != nil {
			return err
		}
		*run.into = append(*run.into, took)
		d.stop()
	}
	start := time.Now()
	p, err := startPeer("bare", imdsDoc, containerDoc, "", 1)
	if err != nil {
		return err
	}
	defer p.stop()
	probe := &client{e: endpoint{addr: p.addrs[0]}}
	defer probe.close()
	if err := probe.sequence(); err != nil {
		return fmt.Errorf("bare server: %w", err)
	}
	rep.bareStart = append(rep.bareStart, time.Since(start))
	return nil
}

// spread deals n rounds out over slots as evenly as it can, in order: how
// many go in each. Start-up is timed in rounds spread over the whole run
// (before each load shape, and after the last), not all at its beginning:
// this machine's speed drifts over minutes (the bare server's start took
// 2.8–4.7 ms from one run's beginning to another's), and a median of
// starts all made in one minute is that minute's.
func spread(n, slots int) []int {
	counts := make([]int, slots)
	for i := range counts {
		counts[i] = n*(i+1)/slots - n*i/slots
	}
	return counts
}

// shape is one load shape at one number of clients.
type shape struct {
	container, fresh bool
	n                int
}

// shapes are the load shapes c asks for, in the report's order: IMDS
// before the container endpoint, new connections before kept-alive ones,
// fewer clients first.
func (c config) shapes() []shape {
	var shapes []shape
	for _, container := range []bool{false, true} {
		for _, fresh := range []bool{true, false} {
			for _, n := range c.levels {
				if c.wants(container, fresh) {
					shapes = append(shapes, shape{container, fresh, n})
				}
			}
		}
	}
	return shapes
}

// keptAliveFirst is the order to run shapes in, as indices: the kept-alive
// ones first. A new-connection shape leaves tens of thousands of
// connections in TIME_WAIT on loopback (50,000 after the IMDS shapes
// here), which the kernel expires over the next minute: run in that
// minute, one client's kept-alive fetches showed p99s of 1.5–2.6 ms for
// every server, against 0.34–0.45 ms in a quiet one, and their ratio was
// the draw of whose turns the expiry fell in.
func keptAliveFirst(shapes []shape) []int {
	var kept, fresh []int
	for i, s := range shapes {
		if s.fresh {
			fresh = append(fresh, i)
		} else {
			kept = append(kept, i)
		}
	}
	return append(kept, fresh...)
}

// loadRows runs one load shape against servers, c.reps times. Within a
// repetition the servers take turns in slices of at most c.slice, each
// round rotating which goes first, so that every server meets the same
// spells of a machine whose speed drifts over seconds (a shared VM's
// does) and none always meets a warmer or cooler one.
func loadRows(c config, container, fresh bool, concurrency int, servers []endpoint) row {
	r := row{container: container, fresh: fresh, concurrency: concurrency}
	for _, s := range servers {
		r.servers = append(r.servers, s.name)
		runLoad(s, concurrency, c.duration/10, fresh) // warm up
	}
	rounds := c.rounds()
	turn := 0
	for range c.reps {
		results := make([]loadResult, len(servers))
		for range rounds {
			for k := range servers {
				j := (turn + k) % len(servers)
				results[j].add(runLoad(servers[j], concurrency, c.duration/time.Duration(rounds), fresh))
			}
			turn++
		}
		for j := range results {
			slices.Sort(results[j].latencies)
		}
		r.reps = append(r.reps, results)
	}
	return r
}

// handlerAllocs runs the handler's sequence benchmark and returns its
// allocations per sequence.
func handlerAllocs() (float64, string) {
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkHandlerSequence$", "-benchmem", "-count", "1", "./imds").CombinedOutput()
	if err != nil {
		return 0, fmt.Sprintf("go test -bench HandlerSequence ./imds: %v: %s", err, out)
	}
	m := regexp.MustCompile(`(\d+) allocs/op`).FindSubmatch(out)
	if m == nil {
		return 0, "no allocs/op in: " + string(out)
	}
	n, _ := strconv.ParseFloat(string(m[1]), 64)
	return n, ""
}

// writeCABundle writes a bundle of as many certificates as a system's
// (about 150), for start-up with AWS_CA_BUNDLE set.
func writeCABundle(dir string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	var pemData []byte
	for i := range 150 {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: fmt.Sprintf("mfad-bench CA %d", i)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return "", err
		}
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	path := filepath.Join(dir, "ca-bundle.pem")
	return path, os.WriteFile(path, pemData, 0o600)
}

// clientView times the AWS CLI's `configure export-credentials` getting
// the session through mfad, and with the same credentials in variables.
func clientView(b *bench, d *daemon, runs int) (viaMfad, viaEnv []time.Duration, skipped string) {
	aws, err := exec.LookPath("/usr/bin/aws") // Debian's AWS CLI v2: v1 cannot export credentials
	if err != nil {
		return nil, nil, "AWS CLI v2 (/usr/bin/aws) is not installed"
	}
	issued := b.sts.Issued()
	last := issued[len(issued)-1]
	base := []string{"HOME=" + b.home, "PATH=" + os.Getenv("PATH"), "AWS_CONFIG_FILE=" + filepath.Join(b.home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(b.home, "none")}
	envs := [][]string{
		append(slices.Clone(base), "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://"+d.addr+"/"),
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
