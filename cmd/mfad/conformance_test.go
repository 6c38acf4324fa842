//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"
)

// clientResult is what one run of one AWS client produced.
type clientResult struct {
	Version    string `json:"version"`
	Key        string `json:"key"`
	Secret     string `json:"secret"`
	Token      string `json:"token"`
	Expiration string `json:"expiration"` // empty where the client does not say
	// Err is what the user sees when the client finds no credentials.
	Err string `json:"error"`
	// Log is everything the client logged, at debug level where it has one.
	Log string `json:"-"`
	// Signed reports that the client signed an AWS call (GetCallerIdentity
	// on the fake STS) with the session's key, secret and token: for
	// clients that cannot print their credentials.
	Signed bool `json:"-"`
}

// awsClient is one real AWS client, run as a user would.
type awsClient struct {
	Name string
	run  func(t *testing.T, w *world, env []string) clientResult
	// Caches says the client keeps credentials between uses, as SDK
	// clients do; the others go back to the endpoint every time by design.
	Caches bool
}

// clientsDir holds the client scripts and the pinned npm packages.
func clientsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "clients"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", "credential-providers")); err != nil {
		t.Fatalf("the JavaScript SDK is not installed: run `npm ci --prefix cmd/mfad/testdata/clients` (.ci/install-deps does): %v", err)
	}
	return dir
}

// pipPython finds the Python that carries the image's pip botocore, boto3
// and AWS CLI v1 (the python3 on PATH, not Debian's).
func pipPython(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys, boto3, awscli; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("the image's python3 with boto3 and awscli (AWS CLI v1) is missing: %v", err)
	}
	py := strings.TrimSpace(string(out))
	if py == debianPython {
		t.Fatalf("python3 on PATH is Debian's; the image's pip python with botocore and AWS CLI v1 is missing")
	}
	return py
}

// runJSONClient runs a client script that prints a clientResult as JSON.
func runJSONClient(t *testing.T, env []string, name string, args ...string) clientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	var r clientResult
	if err := json.Unmarshal([]byte(lastLine(stdout.String())), &r); err != nil {
		r.Err = "client crashed: " + lastLine(stderr.String())
	}
	r.Log = stderr.String()
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// awsCLI runs an AWS CLI command; on failure the user sees its last line.
func awsCLI(t *testing.T, env []string, bin ...string) (stdout string, r clientResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin[0], bin[1:]...)
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		r.Err = lastLine(errOut.String())
	}
	r.Log = errOut.String()
	return out.String(), r
}

func cliVersion(t *testing.T, bin ...string) string {
	out, err := exec.Command(bin[0], append(bin[1:], "--version")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v --version: %v", bin, err)
	}
	v, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return strings.TrimPrefix(v, "aws-cli/")
}

func goSDKVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/aws/aws-sdk-go-v2/credentials" {
				return "credentials " + d.Version
			}
		}
	}
	return "unknown"
}

// goClient loads credentials in this process, through the same
// environment a user's Go program has.
func goClient(direct bool) func(t *testing.T, w *world, env []string) clientResult {
	return func(t *testing.T, w *world, env []string) clientResult {
		for _, kv := range os.Environ() {
			if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
		}
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
				t.Setenv(k, v)
			}
		}
		var log strings.Builder
		logger := logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			fmt.Fprintf(&log, "%s "+format+"\n", append([]any{c}, v...)...)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r := clientResult{Version: goSDKVersion()}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logger))
		if err == nil {
			provider := cfg.Credentials
			if direct {
				provider = ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.NewFromConfig(cfg) })
			}
			c, e := provider.Retrieve(ctx)
			err = e
			loops, _ := strconv.Atoi(envValue(env, loopEnv))
			for range loops {
				if _, e := provider.Retrieve(ctx); e != nil {
					err = e
				}
			}
			r.Key, r.Secret, r.Token = c.AccessKeyID, c.SecretAccessKey, c.SessionToken
			if c.CanExpire {
				r.Expiration = c.Expires.UTC().Format(time.RFC3339)
			}
		}
		if err != nil {
			r.Err = err.Error()
		}
		r.Log = log.String()
		return r
	}
}

// loopEnv asks a client to read its credentials that many more times, as
// a long-running program does before each call.
const loopEnv = "MFAD_CLIENT_LOOP"

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// conformanceClients are the clients every user may point at mfad.
func conformanceClients(t *testing.T) []awsClient {
	js := clientsDir(t)
	py := pipPython(t)
	cliV1 := []string{py, "-m", "awscli"}
	jsClient := func(mode string) func(t *testing.T, w *world, env []string) clientResult {
		return func(t *testing.T, w *world, env []string) clientResult {
			return runJSONClient(t, env, "node", filepath.Join(js, "js_client.mjs"), mode)
		}
	}
	pyClient := func(python string) func(t *testing.T, w *world, env []string) clientResult {
		return func(t *testing.T, w *world, env []string) clientResult {
			return runJSONClient(t, env, python, filepath.Join(js, "py_client.py"))
		}
	}
	v1 := cliVersion(t, cliV1...)
	v2 := cliVersion(t, debianAWSCLI)
	return []awsClient{
		{"aws-sdk-go-v2, default chain", goClient(false), true},
		{"aws-sdk-go-v2, ec2rolecreds", goClient(true), false},
		{"AWS CLI v1 (pip)", func(t *testing.T, w *world, env []string) clientResult {
			before := len(w.sts.Calls())
			out, r := awsCLI(t, env, append(cliV1, "sts", "get-caller-identity", "--endpoint-url", w.sts.URL, "--debug")...)
			r.Version = v1
			r.Signed = signedBySession(w, before, out)
			return r
		}, false},
		{"boto3 (pip)", pyClient(py), true},
		{"boto3 (Debian python3-boto3)", pyClient(debianPython), true},
		{"AWS CLI v2 (Debian awscli)", func(t *testing.T, w *world, env []string) clientResult {
			out, r := awsCLI(t, env, debianAWSCLI, "configure", "export-credentials", "--format", "process", "--debug")
			var doc struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
			if json.Unmarshal([]byte(out), &doc) == nil {
				r.Key, r.Secret, r.Token = doc.AccessKeyId, doc.SecretAccessKey, doc.SessionToken
				if exp, err := time.Parse(time.RFC3339, doc.Expiration); err == nil {
					r.Expiration = exp.UTC().Format(time.RFC3339)
				}
			}
			r.Version = v2
			return r
		}, false},
		{"aws-sdk-js-v3, fromInstanceMetadata", jsClient("imds"), false},
		{"aws-sdk-js-v3, default Node chain", jsClient("chain"), true},
		{"aws-sdk-js-v2, default chain", func(t *testing.T, w *world, env []string) clientResult {
			return runJSONClient(t, env, "node", filepath.Join(js, "js2_client.cjs"), "chain")
		}, true},
		{"aws-sdk-go v1, default chain", func(t *testing.T, w *world, env []string) clientResult {
			return runJSONClient(t, env, goV1Client(t), "chain")
		}, true},
	}
}

var goV1 struct {
	once sync.Once
	path string
	err  error
}

// goV1Client builds the AWS SDK for Go v1 client (testdata/gov1, a module
// of its own) once, and returns its path.
func goV1Client(t *testing.T) string {
	t.Helper()
	goV1.once.Do(func() {
		dir, err := filepath.Abs(filepath.Join("testdata", "gov1"))
		if err != nil {
			goV1.err = err
			return
		}
		goV1.path = filepath.Join(filepath.Dir(mfadBin), "gov1")
		build := exec.Command("go", "build", "-o", goV1.path, ".")
		build.Dir = dir
		if out, err := build.CombinedOutput(); err != nil {
			goV1.err = fmt.Errorf("building the Go v1 client: %v\n%s", err, out)
		}
	})
	if goV1.err != nil {
		t.Fatal(goV1.err)
	}
	return goV1.path
}

// signedBySession reports whether the fake STS answered GetCallerIdentity
// to the session's key (it checks secret and token) after call number before.
func signedBySession(w *world, before int, stdout string) bool {
	issued := w.sts.Issued()
	if len(issued) == 0 || !strings.Contains(stdout, `"Arn"`) {
		return false
	}
	for _, c := range w.sts.Calls()[before:] {
		if c.Action == "GetCallerIdentity" && c.AccessKeyID == issued[len(issued)-1].AccessKeyID {
			return true
		}
	}
	return false
}

// imdsCounters reads the daemon's request counters.
func (w *world) imdsCounters(t *testing.T) map[string]uint64 {
	t.Helper()
	var st struct{ IMDS map[string]uint64 }
	if err := json.Unmarshal([]byte(w.mustMfad("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	return st.IMDS
}

func requestsBetween(before, after map[string]uint64) uint64 {
	var n uint64
	for _, k := range []string{"tokens_issued", "token_requests", "v1_requests", "unauthorized", "refused"} {
		n += after[k] - before[k]
	}
	return n
}

// warningPattern matches what the clients' own sources log when they
// work around a misbehaving metadata service.
var warningPattern = regexp.MustCompile(`(?i)expiration extension|falling back to imdsv1|fallback to imdsv1|credential renew failed|WARNING|^WARN |\bWARN\b`)

func warnings(log string) []string {
	var found []string
	for _, line := range strings.Split(log, "\n") {
		if warningPattern.MatchString(line) {
			found = append(found, strings.TrimSpace(line))
		}
	}
	return found
}

// clientEnvFor is the environment of a user's shell whose AWS tools use
// endpoint, with the AWS config file cfg.
func (w *world) clientEnvFor(cfg, endpoint string, extra ...string) []string {
	env := []string{"HOME=" + w.home, "PATH=" + pathEnv(w.env), "AWS_CONFIG_FILE=" + cfg,
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(w.home, "no-credentials"),
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + endpoint}
	if root := os.Getenv("PYENV_ROOT"); root != "" {
		env = append(env, "PYENV_ROOT="+root)
	}
	return append(env, extra...)
}

// compatRow is one client's line in the README's compatibility table.
type compatRow struct {
	client, version string
	forms           []bool // which endpoint forms worked, in endpointForms order
	imdsv2          bool
	warnings        []string
	locked          string // what the user sees while mfad is locked
	// lockedTook is how long the client took to fail while locked,
	// start-up included.
	lockedTook time.Duration
	nearEnd    string // with 10 minutes of session left
	expired    string // after the session ended
}

// got reports whether r carries exactly the session credentials c.
func (r clientResult) got(key, secretKey, token string) bool {
	return r.Signed || (key != "" && r.Key == key && r.Secret == secretKey && r.Token == token)
}

func TestConformance(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	d := w.serve()
	clients := conformanceClients(t)
	cfg := filepath.Join(w.home, "aws-config")
	port := strings.TrimSuffix(strings.TrimPrefix(d.endpoint, "http://127.0.0.1:"), "/")
	forms := []string{d.endpoint, strings.TrimSuffix(d.endpoint, "/"), "http://localhost:" + port + "/"}

	unlock := func(lifetime time.Duration) {
		w.sts.SetSessionLifetime(lifetime)
		w.mustMfad("unlock", "--renew", "--code", w.freshCode())
	}
	unlock(0)
	s := w.sts.Issued()[0]
	rows := make([]compatRow, len(clients))

	for i, c := range clients {
		row := &rows[i]
		row.client = c.Name
		t.Run(c.Name, func(t *testing.T) {
			before := w.imdsCounters(t)
			r := c.run(t, w, w.clientEnvFor(cfg, forms[0]))
			after := w.imdsCounters(t)
			row.version = r.Version
			if !r.got(s.AccessKeyID, s.SecretAccessKey, s.SessionToken) {
				t.Fatalf("did not get the session credentials: %s\n%s", r.Err, r.Log)
			}
			if r.Expiration != "" && !expiryMatches(r.Expiration, s.Expiration) {
				t.Errorf("expiration %s, session ends %s", r.Expiration, s.Expiration.Format(time.RFC3339))
			}
			row.imdsv2 = after["v1_requests"] == before["v1_requests"] && after["tokens_issued"] > before["tokens_issued"]
			if !row.imdsv2 {
				t.Errorf("did not use IMDSv2 only: counters %v -> %v", before, after)
			}
			if row.warnings = warnings(r.Log); len(row.warnings) > 0 {
				t.Errorf("logged warnings: %q", row.warnings)
			}
			if r := c.run(t, w, w.clientEnvFor(cfg, forms[0], "AWS_EC2_METADATA_V1_DISABLED=true")); !r.got(s.AccessKeyID, s.SecretAccessKey, s.SessionToken) {
				t.Errorf("with AWS_EC2_METADATA_V1_DISABLED=true: %s", r.Err)
			}
			for _, form := range forms {
				r := c.run(t, w, w.clientEnvFor(cfg, form))
				row.forms = append(row.forms, r.got(s.AccessKeyID, s.SecretAccessKey, s.SessionToken))
			}
			if !row.forms[0] {
				t.Errorf("the endpoint `mfad env` prints does not work")
			}
		})
	}

	// While locked, every client fails, quickly and without a flood.
	w.mustMfad("lock")
	for i, c := range clients {
		t.Run(c.Name+"/locked", func(t *testing.T) {
			rows[i].locked, rows[i].lockedTook = w.lifetimeCase(t, c, cfg, forms[0], false, "", "", "")
		})
	}

	// Ten minutes before the MFA session ends: nothing better to serve, so
	// the real expiry; every client still gets the credentials.
	unlock(10 * time.Minute)
	s = w.sts.Issued()[1]
	for i, c := range clients {
		t.Run(c.Name+"/10 minutes left", func(t *testing.T) {
			// A long-running program reads its credentials before
			// every call: those that cache must not come back each time.
			var loop []string
			if c.Caches {
				loop = []string{loopEnv + "=200"}
			}
			rows[i].nearEnd, _ = w.lifetimeCase(t, c, cfg, forms[0], true, s.AccessKeyID, s.SecretAccessKey, s.SessionToken, loop...)
		})
	}

	// After the session ended while the daemon ran.
	unlock(2 * time.Second)
	s = w.sts.Issued()[2]
	<-time.After(time.Until(s.Expiration) + 100*time.Millisecond)
	for i, c := range clients {
		t.Run(c.Name+"/expired", func(t *testing.T) {
			rows[i].expired, _ = w.lifetimeCase(t, c, cfg, forms[0], false, "", "", "")
		})
	}

	checkREADME(t, compatTable(rows))
}

const (
	readmeBegin = "<!-- conformance:begin: written by TestConformance; `MFAD_UPDATE_README=1 go test ./cmd/mfad -run TestConformance` rewrites it -->"
	readmeEnd   = "<!-- conformance:end -->"
)

// compatTable writes the README's compatibility tables from the results.
func compatTable(rows []compatRow) string {
	mark := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	var b strings.Builder
	b.WriteString("| Client | Version tested | `http://127.0.0.1:PORT/` (`mfad env`) | `http://127.0.0.1:PORT` | `http://localhost:PORT/` | IMDSv2 only, no warning | While mfad is locked, the user sees | and the program ends, failed, within " + strings.TrimSuffix(fastFailure.String(), "s") + " s |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.client, r.version,
			mark(r.forms[0]), mark(r.forms[1]), mark(r.forms[2]), mark(r.imdsv2 && len(r.warnings) == 0), quoteCell(r.locked),
			mark(r.lockedTook < fastFailure))
	}
	b.WriteString("\nAt the end of the MFA session (mfad serves the real expiry: there is nothing better to serve). Programs that cache credentials read them 200 more times in the first case:\n\n")
	b.WriteString("| Client | 10 minutes left | After the session ended |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.client, quoteCell(r.nearEnd), quoteCell(r.expired))
	}
	return b.String()
}

// fastFailure is what "fails at once" means in the table, start-up of the
// client's interpreter included: measured times (in the test log) are
// 0.2 to 1.1 s; a client that waits on the endpoint takes its whole
// timeout, and one that hangs never ends.
const fastFailure = 5 * time.Second

func quoteCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\t", "").Replace(s)
}

// checkREADME compares the README's generated section with table, or
// rewrites it when MFAD_UPDATE_README=1.
func checkREADME(t *testing.T, table string) {
	t.Helper()
	path := filepath.Join("..", "..", "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	start, end := strings.Index(readme, readmeBegin), strings.Index(readme, readmeEnd)
	if start < 0 || end < start {
		t.Fatalf("README.md lacks the markers %q … %q", readmeBegin, readmeEnd)
	}
	current := readme[start+len(readmeBegin) : end]
	want := "\n" + table
	if current == want {
		return
	}
	if os.Getenv("MFAD_UPDATE_README") == "1" {
		if err := os.WriteFile(path, []byte(readme[:start+len(readmeBegin)]+want+readme[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's compatibility table is not what the clients did; run MFAD_UPDATE_README=1 go test ./cmd/mfad -run TestConformance\nwant:\n%s", table)
}

// maxRequestsPerRun bounds the requests one client run may make: a token
// and a few credential reads, with the retries some clients make.
const maxRequestsPerRun = 12

// lifetimeCase runs c once and reports what the user sees, and how long
// the run took. want says whether it must get the credentials given.
func (w *world) lifetimeCase(t *testing.T, c awsClient, cfg, endpoint string, want bool, key, secretKey, token string, env ...string) (string, time.Duration) {
	t.Helper()
	before := w.imdsCounters(t)
	start := time.Now()
	r := c.run(t, w, w.clientEnvFor(cfg, endpoint, env...))
	took := time.Since(start)
	n := requestsBetween(before, w.imdsCounters(t))
	if n > maxRequestsPerRun {
		t.Errorf("%d requests to the daemon in one run", n)
	}
	if got := r.got(key, secretKey, token); got != want || (!want && r.Key != "") {
		t.Errorf("got credentials %q, want them: %v (%s)", r.Key, want, r.Err)
	}
	seen := r.Err
	if want {
		seen = "gets the credentials"
		if ws := warnings(r.Log); len(ws) > 0 {
			seen += "; logs \"" + logMessage(ws[0]) + "\""
		}
	}
	t.Logf("%s: %s (%d requests, %s)", c.Name, seen, n, took.Round(100*time.Millisecond))
	return fmt.Sprintf("%s (%d requests)", normalise(seen), n), took
}

// logMessage takes the first sentence of a log line's message, without the
// logger's prefix.
func logMessage(line string) string {
	line = regexp.MustCompile(`^.*? - (DEBUG|INFO|WARNING|ERROR) - |^(DEBUG|INFO|WARNING|ERROR):[\w.]+:`).ReplaceAllString(line, "")
	if i := strings.Index(line, ". "); i > 0 {
		line = line[:i+1]
	}
	return line
}

// normalise removes what changes from run to run from a client's message.
func normalise(s string) string {
	s = regexp.MustCompile(`127\.0\.0\.1:\d+|localhost:\d+`).ReplaceAllString(s, "127.0.0.1:PORT")
	s = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[^\s;]*`).ReplaceAllString(s, "TIME")
	if len(s) > 220 {
		s = s[:220] + "…"
	}
	return s
}

// expiryMatches reports whether a client's expiry is the session's, or
// aws-sdk-go-v2's one-hour cap on IMDS credentials.
func expiryMatches(got string, session time.Time) bool {
	t, err := time.Parse(time.RFC3339, got)
	if err != nil {
		return false
	}
	if t.Equal(session) {
		return true
	}
	hour := time.Now().Add(time.Hour)
	return session.After(hour) && t.Sub(hour).Abs() < time.Minute
}

// TestCLIv2RegionFromIMDS runs AWS CLI v2 with no region configured
// anywhere: it asks the endpoint for the availability zone, and must sign
// its call for the region of the profile mfad serves.
func TestCLIv2RegionFromIMDS(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	d := w.serve()
	w.mustMfad("unlock", "--code", w.freshCode())
	empty := filepath.Join(w.home, "empty-config")
	writeFile(t, empty, "")
	before := len(w.sts.Calls())
	out, r := awsCLI(t, w.clientEnvFor(empty, d.endpoint), debianAWSCLI, "sts", "get-caller-identity", "--endpoint-url", w.sts.URL)
	if r.Err != "" || !signedBySession(w, before, out) {
		t.Fatalf("AWS CLI v2 without a region: %s\n%s", r.Err, out)
	}
	if got := w.sts.Calls()[len(w.sts.Calls())-1].Region; got != "eu-west-1" {
		t.Fatalf("AWS CLI v2 signed for region %q, want eu-west-1 from the daemon's profile", got)
	}
}
