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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mfad/mfad/daemon/session"
	"github.com/mfad/mfad/daemon/ststest"
)

// callerIdentityEnv makes a copy of this test binary act as a Go program
// that calls sts:GetCallerIdentity with the SDK's default chain and prints
// the ARN STS names (or "error: ...").
const callerIdentityEnv = "MFAD_TEST_CALLER_IDENTITY"

// callerIdentityMain is that program.
func callerIdentityMain() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		var out *sts.GetCallerIdentityOutput
		if out, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			fmt.Println(*out.Arn)
			os.Exit(0)
		}
	}
	fmt.Println("error: " + strings.ReplaceAll(err.Error(), "\n", " "))
	os.Exit(1)
}

// identityClient is a real AWS client that asks STS who it is, through its
// default credential chain, and prints the ARN.
type identityClient struct {
	name string
	argv func(t *testing.T) []string
}

func identityClients() []identityClient {
	return []identityClient{
		{"aws-sdk-go-v2", func(*testing.T) []string {
			return []string{"env", callerIdentityEnv + "=1", os.Args[0]}
		}},
		{"botocore (pip)", func(t *testing.T) []string {
			return []string{pipPython(t), "-c", "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"}
		}},
		// AWS CLI v2 2.9 predates AWS_ENDPOINT_URL_STS.
		{"AWS CLI v2 (Debian)", func(*testing.T) []string {
			return []string{"sh", "-c", `exec ` + debianAWSCLI + ` --endpoint-url "$AWS_ENDPOINT_URL_STS" sts get-caller-identity --query Arn --output text`}
		}},
	}
}

// whoAmI runs argv (prefixed by prefix, such as `mfad exec prod --`) in env
// and returns the last line it printed: an ARN, or why there is none.
func whoAmI(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	out, _ := cmd.CombinedOutput()
	return lastLine(string(out))
}

// identityWorld is a user with an IAM user's key in mfad (profile default,
// served and unlocked) and a role profile prod built on it.
type identityWorld struct {
	*world
	prodARN string // what STS calls prod's role sessions, less the session name
}

const identityConfig = `[profile prod]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = default
region = us-east-2
`

func newIdentityWorld(t *testing.T) *identityWorld {
	w := newWorld(t)
	w.sts.AddRole(ststest.Role{ARN: "arn:aws:iam::222222222222:role/admin", RequireMFA: true})
	writeFile(t, filepath.Join(w.home, "aws-config"), w.defaultSection("")+"\n"+identityConfig)
	w.addKeys()
	w.serve()
	w.mustMfad("unlock", "--code", w.freshCode())
	return &identityWorld{world: w, prodARN: "arn:aws:sts::222222222222:assumed-role/admin/"}
}

// defaultSection is the config file's default profile, the IAM user's,
// with extra lines.
func (w *world) defaultSection(extra string) string {
	return "[default]\nregion = eu-west-1\nmfa_serial = " + w.user.MFASerial + "\n" + extra
}

// shellEnv is a user's shell: the world's variables but the AWS files,
// which the case sets.
func (w *world) shellEnv(extra ...string) []string {
	var env []string
	for _, kv := range w.env {
		if !strings.HasPrefix(kv, "AWS_CONFIG_FILE=") && !strings.HasPrefix(kv, "AWS_SHARED_CREDENTIALS_FILE=") &&
			!strings.HasPrefix(kv, "MFAD_FILE_PASSPHRASE=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// shadowingSource is something in a user's shell or files that every SDK
// uses before the credentials mfad hands a command.
type shadowingSource struct {
	name string
	// env is added to the shell; the config file is the daemon's with
	// defaultExtra in its default profile and then extra; credentials is
	// ~/.aws/credentials.
	env                       []string
	defaultExtra, extra, cred string
}

func shadowingSources(w *world) []shadowingSource {
	u := w.user
	keys := "aws_access_key_id = " + u.AccessKeyID + "\naws_secret_access_key = " + u.SecretAccessKey + "\n"
	process := filepath.Join(w.home, "print-keys")
	writeFile(w.t, process, fmt.Sprintf("#!/bin/sh\nprintf '%%s' '{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\"}'\n", u.AccessKeyID, u.SecretAccessKey))
	if err := os.Chmod(process, 0o700); err != nil {
		w.t.Fatal(err)
	}
	webToken := filepath.Join(w.home, "web-token")
	writeFile(w.t, webToken, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2ln")
	otherCreds := filepath.Join(w.home, "other-credentials")
	writeFile(w.t, otherCreds, "[default]\n"+keys)
	return []shadowingSource{
		{name: "keys in the environment", env: []string{"AWS_ACCESS_KEY_ID=" + u.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + u.SecretAccessKey}},
		{name: "web identity in the environment", env: []string{"AWS_ROLE_ARN=arn:aws:iam::444455556666:role/ci", "AWS_WEB_IDENTITY_TOKEN_FILE=" + webToken}},
		{name: "keys in ~/.aws/credentials", cred: "[default]\n" + keys},
		{name: "AWS_SHARED_CREDENTIALS_FILE with keys", env: []string{"AWS_SHARED_CREDENTIALS_FILE=" + otherCreds}},
		{name: "keys in the config file", defaultExtra: keys},
		{name: "credential_process", defaultExtra: "credential_process = " + process + "\n"},
		{name: "SSO", defaultExtra: "sso_session = corp\nsso_account_id = 123456789012\nsso_role_name = dev\n",
			extra: "[sso-session corp]\nsso_start_url = https://corp.awsapps.example/start\nsso_region = us-east-1\n"},
		{name: "AWS_PROFILE naming a profile with keys", env: []string{"AWS_PROFILE=other"}, extra: "[profile other]\nregion = eu-west-1\n", cred: "[other]\n" + keys},
	}
}

// setUp writes the case's files and returns the shell's environment.
func (s shadowingSource) setUp(w *world) []string {
	config := filepath.Join(w.home, "shell-config")
	writeFile(w.t, config, w.defaultSection(s.defaultExtra)+"\n"+identityConfig+"\n"+s.extra)
	dotAWS := filepath.Join(w.home, ".aws")
	if err := os.MkdirAll(dotAWS, 0o700); err != nil {
		w.t.Fatal(err)
	}
	os.Remove(filepath.Join(dotAWS, "credentials"))
	if s.cred != "" {
		writeFile(w.t, filepath.Join(dotAWS, "credentials"), s.cred)
	}
	return w.shellEnv(append([]string{"AWS_CONFIG_FILE=" + config}, s.env...)...)
}

// TestExecRunsAsTheProfile: whatever in the shell or the files would win
// over mfad in an SDK's chain, `mfad exec prod -- CMD` runs CMD as prod.
// Each case is first shown to shadow mfad (the same client, pointed at
// prod by `mfad env --profile prod` alone, is not prod), then exec is
// shown to overcome it, by the ARN STS names.
func TestExecRunsAsTheProfile(t *testing.T) {
	w := newIdentityWorld(t)
	prodVars := exportsOf(t, w.mustMfad("env", "--profile", "prod"))
	for _, source := range shadowingSources(w.world) {
		env := source.setUp(w.world)
		for _, c := range identityClients() {
			argv := c.argv(t)
			shadowed := whoAmI(t, append(append([]string{}, env...), prodVars...), argv...)
			if strings.HasPrefix(shadowed, w.prodARN) {
				t.Errorf("%s, %s: without exec the client is prod already (%s): the case shadows nothing", source.name, c.name, shadowed)
			}
			got := whoAmI(t, env, append([]string{mfadBin, "exec", "prod", "--"}, argv...)...)
			if !strings.HasPrefix(got, w.prodARN) {
				t.Errorf("%s, %s: mfad exec prod ran as %q, want %s…", source.name, c.name, got, w.prodARN)
			}
		}
	}
}

// exportsOf returns what `mfad env` exports as NAME=value.
func exportsOf(t *testing.T, out string) []string {
	var env []string
	for k, v := range parseExports(t, out) {
		env = append(env, k+"="+v)
	}
	return env
}

// TestExecKeepsProfileSettings: the command reads the profile's own
// settings (region, output) from the copy exec writes, nested ones intact,
// and an explicit --profile inside still means that profile.
func TestExecKeepsProfileSettings(t *testing.T) {
	w := newIdentityWorld(t)
	config := filepath.Join(w.home, "shell-config")
	writeFile(t, config, w.defaultSection("output = table\n")+"\n"+identityConfig+"output = text\ns3 =\n  max_concurrent_requests = 3\n\n[profile other]\nregion = ap-south-1\n")
	env := w.shellEnv("AWS_CONFIG_FILE="+config, "MFAD_FILE_PASSPHRASE=leak")
	out, err := runClient(t, env, mfadBin, "exec", "prod", "--", "sh", "-c",
		`echo "passphrase=${MFAD_FILE_PASSPHRASE:-none}"; `+debianAWSCLI+` configure get output; `+debianAWSCLI+` configure get s3.max_concurrent_requests; `+
			debianAWSCLI+` configure get region --profile other; cat "$AWS_SHARED_CREDENTIALS_FILE" | wc -c`)
	if err != nil {
		t.Fatalf("exec: %v\n%s", err, out)
	}
	if want := "passphrase=none\ntext\n3\nap-south-1\n0\n"; strings.ReplaceAll(out, " ", "") != want {
		t.Fatalf("inside exec:\n%s\nwant:\n%s", out, want)
	}
}

// lastCaller returns what the fake STS knows of the last GetCallerIdentity
// call: who made it, and whether with MFA session credentials.
func (w *world) lastCaller() (arn string, mfa bool) {
	calls := w.sts.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Action == "GetCallerIdentity" {
			return calls[i].ARN, calls[i].MFA
		}
	}
	return "", false
}

// TestEnvSwitches: in bash, zsh and fish, evaluating `mfad env` after
// `mfad env --profile prod`, or any other pair, leaves exactly one route
// set, and a real client then is who the last one said.
func TestEnvSwitches(t *testing.T) {
	w := newIdentityWorld(t)
	py := pipPython(t)
	userARN := "arn:aws:iam::123456789012:user/alice"
	imdsOnly := "AWS_EC2_METADATA_SERVICE_ENDPOINT"
	container := "AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_FULL_URI"
	sequences := []struct {
		args      []string
		vars, arn string
	}{
		{[]string{"env", "env --profile prod"}, container, w.prodARN},
		{[]string{"env --profile prod", "env"}, imdsOnly, userARN},
		{[]string{"env --container", "env"}, imdsOnly, userARN},
		{[]string{"env", "env --container"}, container, userARN},
		{[]string{"env --profile prod", "env --container", "env --profile prod"}, container, w.prodARN},
	}
	shells := []struct {
		name, path string
		argv       []string
		eval       string // evaluates the output of "$MFAD" ARGS
	}{
		{"bash", "/bin/bash", []string{"bash", "--norc", "--noprofile", "-c"}, `eval "$("$MFAD" %s)"`},
		{"zsh", "/usr/bin/zsh", []string{"zsh", "-f", "-c"}, `eval "$("$MFAD" %s)"`},
		{"fish", "/usr/bin/fish", []string{"fish", "--no-config", "-c"}, `"$MFAD" %s | source`},
	}
	report := `env | grep -E '^AWS_(EC2_METADATA_SERVICE_ENDPOINT|CONTAINER_)' | cut -d= -f1 | sort | tr '\n' ' '; echo; "$PY" -c "$SCRIPT"`
	for _, sh := range shells {
		if _, err := exec.LookPath(sh.argv[0]); err != nil {
			t.Fatalf("%s is not installed (.ci/install-deps installs it): %v", sh.name, err)
		}
		for _, seq := range sequences {
			var script []string
			for _, a := range seq.args {
				script = append(script, fmt.Sprintf(sh.eval, a))
			}
			script = append(script, report)
			env := w.shellEnv("AWS_CONFIG_FILE="+filepath.Join(w.home, "aws-config"), "SHELL="+sh.path, "MFAD="+mfadBin, "PY="+py,
				"SCRIPT=import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])")
			out, err := runClient(t, env, sh.argv[0], append(sh.argv[1:], strings.Join(script, "\n"))...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if err != nil || len(lines) < 2 {
				t.Errorf("%s, %q: %v\n%s", sh.name, seq.args, err, out)
				continue
			}
			vars, arn := strings.TrimSpace(lines[len(lines)-2]), lines[len(lines)-1]
			if vars != seq.vars || !strings.HasPrefix(arn, seq.arn) {
				t.Errorf("%s, after %q: variables %q and identity %q, want %q and %s", sh.name, seq.args, vars, arn, seq.vars, seq.arn)
			}
			if _, mfa := w.lastCaller(); !mfa {
				t.Errorf("%s, after %q: STS was called without the MFA session", sh.name, seq.args)
			}
		}
	}
	res := w.mfad("", nil, "env", "--profile", "prdo")
	if res.exit == 0 || res.stdout != "" {
		t.Errorf("env --profile prdo: exit %d, printed %q", res.exit, res.stdout)
	}
}

// TestProfilesAsTheConfigSays: the daemon knows a profile the moment it is
// added to the config file and forgets it the moment it is removed; a
// mistyped name fails every command with the closest names, and leaves no
// row behind; lock, unlock and remove say what they did.
func TestProfilesAsTheConfigSays(t *testing.T) {
	w := newIdentityWorld(t)
	w.sts.AddRole(ststest.Role{ARN: "arn:aws:iam::222222222222:role/audit", RequireMFA: true})
	w.sts.AddRole(ststest.Role{ARN: "arn:aws:iam::222222222222:role/short", RequireMFA: true})
	configPath := filepath.Join(w.home, "aws-config")
	base := w.defaultSection("") + "\n" + identityConfig
	env := w.shellEnv("AWS_CONFIG_FILE=" + configPath)
	botocore := []string{pipPython(t), "-c", "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"}

	// Added: known to the very next command, and served.
	writeFile(t, configPath, base+"\n[profile audit]\nrole_arn = arn:aws:iam::222222222222:role/audit\nsource_profile = default\n")
	if got := whoAmI(t, env, append([]string{mfadBin, "exec", "audit", "--"}, botocore...)...); !strings.HasPrefix(got, "arn:aws:sts::222222222222:assumed-role/audit/") {
		t.Fatalf("a profile just added: exec ran as %q", got)
	}
	if status := w.mustMfad("status"); !strings.Contains(status, "audit") {
		t.Fatalf("status lacks the profile just added:\n%s", status)
	}

	// Removed: gone from status, refused by name.
	writeFile(t, configPath, base)
	if status := w.mustMfad("status"); strings.Contains(status, "audit") {
		t.Fatalf("status lists a profile removed from the config:\n%s", status)
	}
	expectFailure(t, w.mfad("", nil, "env", "--profile", "audit"), "no profile audit in "+configPath, "[profile audit]")

	// Mistyped: every command fails, names the closest, leaves no row.
	for _, args := range [][]string{
		{"unlock", "--profile", "prdo", "--code", "123456"},
		{"lock", "--profile", "prdo"},
		{"env", "--profile", "prdo"},
		{"exec", "prdo", "--", "true"},
	} {
		res := w.mfad("", nil, args...)
		expectFailure(t, res, "no profile prdo in "+configPath, "did you mean prod?")
		if res.stdout != "" {
			t.Errorf("%v printed %q", args, res.stdout)
		}
	}
	if status := w.mustMfad("status"); strings.Contains(status, "prdo") {
		t.Fatalf("a mistyped name left a row:\n%s", status)
	}

	// Lock and unlock through a role say what they did.
	if out := w.mustMfad("lock", "--profile", "prod"); out != "profile prod is built on default: locked the MFA session of profile default and its roles prod\n" {
		t.Fatalf("lock --profile prod printed %q", out)
	}
	out := w.mustMfad("unlock", "--profile", "prod", "--code", w.freshCode())
	if !regexp.MustCompile(`^unlocked profile prod until .* \(in (59m|1h0m)\)\n  its role session is renewed while the MFA session of profile default lasts, until .* \(in 1[12]h\d+m\)\n$`).MatchString(out) {
		t.Fatalf("unlock --profile prod printed %q", out)
	}
	// status: the role's time left, and its MFA session's.
	if status := w.mustMfad("status"); !regexp.MustCompile(`prod\s+default\s+unlocked\s+.* \(in (59m|1h0m)\)\s+\S+ \S+\s+1[12]h\d+m\n`).MatchString(status) {
		t.Fatalf("status does not show prod's time left and its MFA session's:\n%s", status)
	}

	// Role durations: out of range before STS, over the role's maximum as STS says.
	writeFile(t, configPath, base+"\n[profile short]\nrole_arn = arn:aws:iam::222222222222:role/short\nsource_profile = default\nduration_seconds = 100\n"+
		"\n[profile long]\nrole_arn = arn:aws:iam::222222222222:role/short\nsource_profile = default\nduration_seconds = 7200\n")
	expectFailure(t, w.mfad("", nil, "unlock", "--profile", "short", "--code", "123456"), "a role session lasts 900 to 43200 seconds", "fix duration_seconds")
	if status := w.mustMfad("status"); !strings.Contains(status, "short: last unlock failed: duration_seconds = 100") {
		t.Fatalf("status does not say why short cannot work:\n%s", status)
	}
	expectFailure(t, w.mfad("", nil, "unlock", "--profile", "long", "--code", w.freshCode()), "is longer than role arn:aws:iam::222222222222:role/short allows", "maximum session duration")

	// Removing the key ends the session it started.
	out = w.mustMfad("remove", "default", "--yes")
	if !strings.Contains(out, "ended the daemon's session: locked the MFA session of profile default and its roles long, prod") {
		t.Fatalf("remove printed %q", out)
	}
	if status := w.mustMfad("status"); !regexp.MustCompile(`default\s+-\s+locked`).MatchString(status) {
		t.Fatalf("the session outlived its key:\n%s", status)
	}
}

// TestDoctorAgreesWithTheCLI: for each way a shell can pick (or fail to
// pick) credentials, `mfad doctor` finds no problem exactly when the real
// AWS CLI, run in the same shell, gets the identity the user picked (the
// profile AWS_PROFILE names, else the one `mfad env` pointed the shell at)
// through mfad's MFA session. Where doctor finds a problem, it names it.
func TestDoctorAgreesWithTheCLI(t *testing.T) {
	w := newIdentityWorld(t)
	w.sts.AddUser(ststest.NewUser("111111111111", "bob"))
	base := w.defaultSection("") + "\n" + identityConfig + "\n[profile prod-imds]\nrole_arn = arn:aws:iam::222222222222:role/admin\ncredential_source = Ec2InstanceMetadata\nregion = us-east-2\n" +
		"\n[profile imds-noregion]\nrole_arn = arn:aws:iam::222222222222:role/admin\ncredential_source = Ec2InstanceMetadata\n" +
		"\n[profile bob]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::111111111111:mfa/bob\n"
	writeFile(t, filepath.Join(w.home, "aws-config"), base)
	cliV1 := []string{pipPython(t), "-m", "awscli", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"}
	endpoint := exportsOf(t, w.mustMfad("env"))
	prodVars := exportsOf(t, w.mustMfad("env", "--profile", "prod"))
	alice := "arn:aws:iam::123456789012:user/alice"
	u := w.user
	keys := "aws_access_key_id = " + u.AccessKeyID + "\naws_secret_access_key = " + u.SecretAccessKey + "\n"
	cases := []struct {
		name string
		env  []string
		// defaultExtra goes into the default profile, extra at the end
		// of the config file; cred is ~/.aws/credentials.
		defaultExtra, cred string
		picked             string // the ARN the user picked, less a role's session name
		says               string // what doctor says when it finds a problem
	}{
		{name: "mfad env", env: endpoint, picked: alice},
		{name: "mfad env --profile prod", env: prodVars, picked: w.prodARN},
		{name: "AWS_PROFILE=default", env: append([]string{"AWS_PROFILE=default"}, endpoint...), picked: alice},
		{name: "AWS_PROFILE of a role on the metadata endpoint", env: append([]string{"AWS_PROFILE=prod-imds"}, endpoint...), picked: w.prodARN},
		{name: "AWS_PROFILE of a role without a region", env: append([]string{"AWS_PROFILE=imds-noregion"}, endpoint...), picked: w.prodARN,
			says: "picks a profile without a region"},
		{name: "AWS_PROFILE of a role with source_profile", env: append([]string{"AWS_PROFILE=prod"}, endpoint...), picked: w.prodARN,
			says: "AWS_PROFILE=prod is a role with source_profile"},
		{name: "AWS_PROFILE of a role with source_profile, and its container endpoint", env: append([]string{"AWS_PROFILE=prod"}, prodVars...), picked: w.prodARN,
			says: "AWS_PROFILE=prod is a role with source_profile"},
		{name: "AWS_PROFILE mistyped", env: append([]string{"AWS_PROFILE=prdo"}, endpoint...), picked: w.prodARN,
			says: "AWS_PROFILE=prdo names no profile"},
		{name: "AWS_PROFILE of another IAM user", env: append([]string{"AWS_PROFILE=bob"}, endpoint...), picked: "arn:aws:iam::111111111111:user/bob",
			says: "profile default's, not bob's"},
		{name: "stale container token", env: append([]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + envValue(prodVars, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
			"AWS_CONTAINER_AUTHORIZATION_TOKEN=stale"}, endpoint...), picked: w.prodARN, says: "is not the running daemon's"},
		{name: "keys in the environment", env: append([]string{"AWS_ACCESS_KEY_ID=" + u.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + u.SecretAccessKey}, endpoint...),
			picked: alice, says: "AWS_ACCESS_KEY_ID is set"},
		{name: "web identity", env: append([]string{"AWS_ROLE_ARN=arn:aws:iam::444455556666:role/ci", "AWS_WEB_IDENTITY_TOKEN_FILE=" + filepath.Join(w.home, "aws-config")}, endpoint...),
			picked: alice, says: "(web identity) come before mfad"},
		{name: "keys in ~/.aws/credentials", env: endpoint, cred: "[default]\n" + keys, picked: alice, says: "has an access key in"},
		{name: "credential_process in the default profile", env: endpoint, defaultExtra: "credential_process = /bin/false\n", picked: alice,
			says: "has credential_process in"},
		{name: "SSO in the default profile", env: endpoint, defaultExtra: "sso_start_url = https://corp.awsapps.example/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = dev\n",
			picked: alice, says: "has sso_start_url in"},
	}
	for _, c := range cases {
		config := filepath.Join(w.home, "shell-config")
		writeFile(t, config, strings.Replace(base, "[profile prod]", c.defaultExtra+"\n[profile prod]", 1))
		dotAWS := filepath.Join(w.home, ".aws")
		os.MkdirAll(dotAWS, 0o700)
		os.Remove(filepath.Join(dotAWS, "credentials"))
		if c.cred != "" {
			writeFile(t, filepath.Join(dotAWS, "credentials"), c.cred)
		}
		shell := w.shellEnv(append([]string{"AWS_CONFIG_FILE=" + config}, c.env...)...)

		got := whoAmI(t, shell, cliV1...)
		_, mfa := w.lastCaller()
		cliRight := strings.HasPrefix(got, c.picked) && mfa
		cmd := exec.Command(mfadBin, "doctor")
		cmd.Env = append(shell, "MFAD_FILE_PASSPHRASE=test passphrase")
		out, err := cmd.CombinedOutput()
		doctor := result{stdout: string(out)}
		if err != nil {
			doctor.exit = 1
		}
		if cliRight != (doctor.exit == 0) {
			t.Errorf("%s: the AWS CLI got %q (MFA session: %v), picked %s…; doctor disagrees (exit %d):\n%s", c.name, got, mfa, c.picked, doctor.exit, doctor.stdout)
			continue
		}
		if !cliRight && !strings.Contains(doctor.stdout, c.says) {
			t.Errorf("%s: doctor does not say %q:\n%s", c.name, c.says, doctor.stdout)
		}
		// status warns of the same, on stderr.
		status := exec.Command(mfadBin, "status")
		status.Env = shell
		var stderr strings.Builder
		status.Stderr = &stderr
		if err := status.Run(); err != nil {
			t.Fatalf("%s: status: %v", c.name, err)
		}
		if warned := strings.Contains(stderr.String(), "mfad: warning: "); warned == cliRight || (warned && !strings.Contains(stderr.String(), c.says)) {
			t.Errorf("%s: the CLI got the picked identity: %v; status warns:\n%s", c.name, cliRight, stderr.String())
		}
	}
}

// TestUnlockAndExecActOnState: exec on a locked profile asks for the code
// on the terminal (a code typed with a space works) or runs mfa_process,
// and without either fails before running anything; unlock of an unlocked
// profile spends no code unless --renew.
func TestUnlockAndExecActOnState(t *testing.T) {
	w := newWorld(t)
	w.sts.AddRole(ststest.Role{ARN: "arn:aws:iam::222222222222:role/admin", RequireMFA: true})
	bob := ststest.NewUser("111111111111", "bob")
	w.sts.AddUser(bob)
	writeFile(t, filepath.Join(w.home, "aws-config"), w.defaultSection("")+"\n"+identityConfig+
		"\n[profile bob]\nregion = eu-west-1\nmfa_serial = "+bob.MFASerial+"\nmfa_process = oathtool --totp -b "+bob.Seed+"\n")
	w.addKeys()
	if res := w.mfad("", []string{"AWS_ACCESS_KEY_ID=" + bob.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + bob.SecretAccessKey}, "add", "--env", "bob"); res.exit != 0 {
		t.Fatalf("add bob: %+v", res)
	}
	w.serve()
	stsCalls := func() int { return len(w.sts.Calls()) }

	// No terminal, no mfa_process: refused, nothing run, no STS call.
	before := stsCalls()
	res := w.mfad("", nil, "exec", "prod", "--", "sh", "-c", "echo RAN")
	expectFailure(t, res, "profile prod is locked, and there is no terminal to ask for its code on", "mfad unlock --profile prod")
	if strings.Contains(res.stdout, "RAN") || stsCalls() != before {
		t.Fatalf("exec without a code ran the command or called STS: %+v", res)
	}

	// On a terminal: asked for, typed as the authenticator shows it.
	code := w.freshCode()
	term := w.inTerminal(nil, "exec", "prod", "--", "sh", "-c", `echo "RAN AS $MFAD_PROFILE"`)
	term.expect("MFA code for profile prod: ")
	term.typeLine(code[:3] + " " + code[3:])
	term.expect("RAN AS prod")
	if code := term.wait(); code != 0 {
		t.Fatalf("exec after the code: exit %d\n%s", code, term.output())
	}

	// mfa_process, without a terminal.
	out, err := runClient(t, w.shellEnv("AWS_CONFIG_FILE="+filepath.Join(w.home, "aws-config")), mfadBin, "exec", "bob", "--", "sh", "-c", `echo "RAN AS $MFAD_PROFILE"`)
	if err != nil || !strings.Contains(out, "RAN AS bob") {
		t.Fatalf("exec bob with mfa_process: %v\n%s", err, out)
	}

	// Unlocked already: nothing spent, unless --renew.
	before = stsCalls()
	res = w.mfad("", nil, "unlock", "--profile", "prod")
	if res.exit != 0 || !strings.Contains(res.stdout, "profile prod is unlocked already, until") || !strings.Contains(res.stderr, "mfad unlock --renew") || stsCalls() != before {
		t.Fatalf("unlock of an unlocked profile: %+v, %d STS calls", res, stsCalls()-before)
	}
	w.mustMfad("unlock", "--renew", "--code", w.freshCode())
	if stsCalls() != before+1 { // GetSessionToken; prod's role session is still good
		t.Fatalf("unlock --renew made %d STS calls", stsCalls()-before)
	}
}

// TestMFAProcessRenewsBeforeTheEnd: a session whose profile has mfa_process
// is renewed with it before it ends (within session.RenewBefore of its
// end), without a program asking and without the user.
func TestMFAProcessRenewsBeforeTheEnd(t *testing.T) {
	w := newWorld(t)
	writeFile(t, filepath.Join(w.home, "aws-config"), w.defaultSection("mfa_process = oathtool --totp -b "+w.user.Seed+"\n"))
	w.addKeys()
	w.serve()
	// A session that starts inside the renewal window; the code is the
	// previous step's, so that mfa_process's (this step's) is new to STS.
	w.sts.SetNextSessionLifetime(session.RenewBefore - time.Minute)
	w.mustMfad("unlock", "--code", w.user.Code(time.Now().Add(-30*time.Second)))
	// Wait for the daemon to hold a full-length session, by its status.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var st struct {
			Profiles []struct{ Name, Expiration string }
		}
		json.Unmarshal([]byte(w.mustMfad("status", "--json")), &st)
		if len(st.Profiles) > 0 {
			if end, err := time.Parse(time.RFC3339, st.Profiles[0].Expiration); err == nil && time.Until(end) > 11*time.Hour {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the session was not renewed; STS calls %+v\n%s", w.sts.Calls(), w.mustMfad("status"))
		case <-time.After(20 * time.Millisecond):
		}
	}
	issued := w.sts.Issued()
	if len(issued) != 2 || !issued[1].MFA {
		t.Fatalf("sessions issued: %+v", issued)
	}
}

// TestCommandsHardenThemselves: a command waiting at a prompt, about to
// hold a long-term key, dumps no core; a command exec runs gets back the
// core limit the user had, and none of mfad's secrets.
func TestCommandsHardenThemselves(t *testing.T) {
	w := newIdentityWorld(t)
	add := w.inTerminal(nil, "add", "other")
	add.expect("Access key ID: ")
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", add.cmd.Process.Pid))
	if err != nil || !regexp.MustCompile(`Max core file size\s+0\s`).Match(limits) {
		t.Fatalf("mfad add at its prompt may dump core: %v\n%s", err, limits)
	}
	out, err := runClient(t, w.shellEnv("AWS_CONFIG_FILE="+filepath.Join(w.home, "aws-config"), "MFAD="+mfadBin, "MFAD_FILE_PASSPHRASE=leak"),
		"bash", "-c", `ulimit -c unlimited; "$MFAD" exec prod -- sh -c 'echo "core=$(ulimit -c) passphrase=${MFAD_FILE_PASSPHRASE:-none}"'`)
	if err != nil || strings.TrimSpace(out) != "core=unlimited passphrase=none" {
		t.Fatalf("the command under exec: %v\n%s", err, out)
	}
}

// TestStoppedDaemonDoesNotHangCommands: a daemon that accepts but never
// answers (stopped with SIGSTOP) makes commands fail within their deadline,
// saying what to look at, instead of hanging.
func TestStoppedDaemonDoesNotHangCommands(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	d := w.serve()
	d.cmd.Process.Signal(syscall.SIGSTOP)
	defer d.cmd.Process.Signal(syscall.SIGCONT)
	start := time.Now()
	expectFailure(t, w.mfad("", nil, "status"), "did not answer within 5s", "kill -CONT PID")
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("status took %s", took)
	}
}

// TestCodeOnTheCommandLineWarns: --code typed at a terminal works, and
// says where the code can be seen.
func TestCodeOnTheCommandLineWarns(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	w.serve()
	term := w.inTerminal(nil, "unlock", "--code", w.freshCode())
	term.expect("visible to every user of this computer (ps)")
	if code := term.wait(); code != 0 || !strings.Contains(term.output(), "unlocked profile default until") {
		t.Fatalf("unlock --code at a terminal: exit %d\n%s", code, term.output())
	}
}

// TestExecTokenReachesItsProfileOnly: the token a command under exec gets
// fetches its own profile from the container endpoint, and no other.
func TestExecTokenReachesItsProfileOnly(t *testing.T) {
	w := newIdentityWorld(t)
	fetch := `import os, urllib.request, urllib.error
uri = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
token = open(os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).read()
assert token == os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
for profile in ("prod", "default"):
    req = urllib.request.Request(uri.rsplit("/", 1)[0] + "/" + profile, headers={"Authorization": token})
    try:
        print(profile, urllib.request.urlopen(req).status)
    except urllib.error.HTTPError as e:
        print(profile, e.code)`
	out, err := runClient(t, w.shellEnv("AWS_CONFIG_FILE="+filepath.Join(w.home, "aws-config")), mfadBin, "exec", "prod", "--", debianPython, "-c", fetch)
	if err != nil || strings.TrimSpace(out) != "prod 200\ndefault 401" {
		t.Fatalf("the exec token: %v\n%s", err, out)
	}
}

// TestDaemonStartsWithoutSecret: a daemon started with no terminal and no
// passphrase in its environment (a login service on a headless box)
// serves at once, locked; `mfad unlock` on a terminal asks for the file
// keyring's passphrase and then the code; after that no command asks for
// the passphrase again. A wrong passphrase leaves the keyring locked.
func TestDaemonStartsWithoutSecret(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	w.unsetEnv("MFAD_FILE_PASSPHRASE")
	d, logs := w.serveLogged()
	logs.waitFor(t, "the file keyring waits for its passphrase")
	environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", d.cmd.Process.Pid))
	if strings.Contains(string(environ), "MFAD_FILE_PASSPHRASE") {
		t.Fatal("the daemon has the passphrase in its environment")
	}
	if st := w.mustMfad("status"); !strings.Contains(st, "keyring: locked, waiting for its passphrase") {
		t.Fatalf("status:\n%s", st)
	}
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("credentials while the keyring is locked: %v", err)
	}

	expectFailure(t, w.mfad("wrong passphrase\n123456\n", nil, "unlock"), "wrong passphrase", "passphrase")
	if st := w.mustMfad("status"); !strings.Contains(st, "keyring: locked") {
		t.Fatalf("a wrong passphrase opened the keyring:\n%s", st)
	}

	term := w.inTerminal(nil, "unlock")
	term.expect("passphrase for the daemon's encrypted keys: ")
	term.typeLine("test passphrase")
	term.expect("MFA code for profile default: ")
	term.typeLine(w.freshCode())
	if code := term.wait(); code != 0 || !strings.Contains(term.output(), "unlocked profile default until") {
		t.Fatalf("unlock on a terminal: exit %d\n%s", code, term.output())
	}
	if strings.Contains(term.output(), "test passphrase") {
		t.Fatal("the passphrase was echoed")
	}
	// The daemon keeps the keyring open: no passphrase from here on, for
	// unlock, nor for the key commands, which go through it.
	w.mustMfad("lock")
	if out := w.mustMfad("unlock", "--code", w.freshCode()); !strings.Contains(out, "unlocked profile default until") {
		t.Fatalf("second unlock: %s", out)
	}
	bob := ststest.NewUser("111111111111", "bob")
	res := w.mfad("", []string{"AWS_ACCESS_KEY_ID=" + bob.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + bob.SecretAccessKey}, "add", "--env", "bob")
	if res.exit != 0 || !strings.Contains(res.stdout, "in the file, through the running daemon keyring") {
		t.Fatalf("add while the daemon runs: %+v", res)
	}
	list := w.mfad("", nil, "list")
	if list.exit != 0 || !regexp.MustCompile(`bob\s+\*+`+bob.AccessKeyID[16:]+`\n`).MatchString(list.stdout) || !strings.Contains(list.stderr, "keyring: file, through the running daemon") {
		t.Fatalf("list while the daemon runs: %+v", list)
	}
	w.mustMfad("remove", "bob", "--yes")

	// lock --all: every session, and the passphrase, forgotten.
	if out := w.mustMfad("lock", "--all"); !strings.Contains(out, "locked the MFA session of profile default") ||
		!strings.Contains(out, "the daemon forgot the keyring's passphrase") {
		t.Fatalf("lock --all: %s", out)
	}
	if st := w.mustMfad("status"); !strings.Contains(st, "keyring: locked, waiting for its passphrase") || !regexp.MustCompile(`default\s+-\s+locked`).MatchString(st) {
		t.Fatalf("status after lock --all:\n%s", st)
	}
	if res := w.mfad("test passphrase\n"+w.freshCode()+"\n", nil, "unlock"); res.exit != 0 {
		t.Fatalf("unlock after lock --all, passphrase and code on stdin: %+v", res)
	}
	d.stop(t)
	// And the key is where the daemon keeps it: in the keyring itself.
	if list := w.mfad("", []string{"MFAD_FILE_PASSPHRASE=test passphrase"}, "list"); list.exit != 0 || strings.Contains(list.stdout, "bob") || !strings.Contains(list.stdout, "default") {
		t.Fatalf("list without the daemon: %+v", list)
	}
}

// TestServeInTheBackground: `mfad serve --detach` returns once the daemon
// answers, its log in the user's state directory; `mfad serve &` in an
// interactive shell is not stopped by the shell for wanting the terminal.
// Neither asks for the file keyring's passphrase: `mfad unlock` does.
func TestServeInTheBackground(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	w.unsetEnv("MFAD_FILE_PASSPHRASE")

	res := w.mfad("", nil, "serve", "--detach", "--listen", "127.0.0.1:0")
	logPath := filepath.Join(w.home, ".local", "state", "mfad", "mfad.log")
	if res.exit != 0 || !strings.Contains(res.stdout, "mfad is serving profile default at http://127.0.0.1:") ||
		!strings.Contains(res.stdout, "its log is "+logPath) || !strings.Contains(res.stderr, "waits for the passphrase") {
		t.Fatalf("serve --detach: %+v", res)
	}
	var st struct{ PID int }
	if err := json.Unmarshal([]byte(w.mustMfad("status", "--json")), &st); err != nil || st.PID == 0 {
		t.Fatalf("status after --detach: %v", err)
	}
	syscall.Kill(st.PID, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for w.mfad("", nil, "status").exit == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the detached daemon did not stop")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), `msg="mfad is serving"`) {
		t.Fatalf("log:\n%s", log)
	}

	shell := w.startTerminal(append(w.shellEnv("MFAD="+mfadBin, "PS1=$ "), "AWS_CONFIG_FILE="+filepath.Join(w.home, "aws-config")),
		"bash", "--norc", "--noprofile", "-i")
	shell.typeLine(`"$MFAD" serve --listen 127.0.0.1:0 2>/dev/null &`)
	shell.typeLine(`until "$MFAD" status >/dev/null 2>&1; do :; done; "$MFAD" status | grep -c 'keyring: locked' | sed 's/^/LOCKED-/'; jobs`)
	shell.expect("LOCKED-1")
	shell.typeLine("jobs; kill %1; wait; exit")
	shell.wait()
	if out := shell.output(); strings.Contains(out, "Stopped") {
		t.Fatalf("the shell stopped the daemon:\n%s", out)
	}
}

// TestDaemonWaitsForItsKeyring: a daemon whose keyring does not answer at
// start (a Secret Service not up yet at login) serves, says in status what
// it waits for, and tries the keyring again at each unlock, instead of
// exiting (a login service would otherwise end up failed).
func TestDaemonWaitsForItsKeyring(t *testing.T) {
	w := newWorld(t)
	w.unsetEnv("MFAD_KEYRING_BACKEND")
	w.env = append(w.env, "MFAD_KEYRING_BACKEND=secret-service")
	_, logs := w.serveLogged()
	logs.waitFor(t, "the keyring does not answer")
	if st := w.mustMfad("status"); !strings.Contains(st, "keyring: locked, waiting for the keyring, which did not answer") {
		t.Fatalf("status:\n%s", st)
	}
	res := w.mfad("", nil, "unlock", "--code", "123456")
	if res.exit == 0 || !strings.Contains(res.stderr, "secret-service") {
		t.Fatalf("unlock while the keyring does not answer: %+v", res)
	}
	w.mustMfad("status") // still serving
}
