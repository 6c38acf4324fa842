//go:build unix

package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// debianPython is Debian's python3, with Debian's boto3 (botocore 1.29),
// which predates AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
const debianPython = "/usr/bin/python3"

// debianAWSCLI is Debian's AWS CLI v2 (2.9), which honours only
// AWS_CONTAINER_AUTHORIZATION_TOKEN.
const debianAWSCLI = "/usr/bin/aws"

// botocoreScript prints the access key and token botocore's default chain finds.
const botocoreScript = `import botocore.session
c = botocore.session.get_session().get_credentials()
f = c.get_frozen_credentials()
print("key=" + f.access_key)
print("method=" + c.method)`

// parseExports reads `export NAME='value'` lines as `mfad env` prints them,
// passing over its `unset` line.
func parseExports(t *testing.T, out string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "unset ") {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasPrefix(line, "export ") {
			t.Fatalf("not an export: %q", line)
		}
		vars[name] = strings.Trim(value, "'")
	}
	return vars
}

// clientEnv is the environment of an AWS client in the user's shell after
// `eval "$(mfad env --container)"`: the world's config, no static keys.
func (w *world) clientEnv(vars map[string]string, drop ...string) []string {
	env := []string{"HOME=" + w.home, "PATH=" + pathEnv(w.env)}
	for _, kv := range w.env {
		if strings.HasPrefix(kv, "AWS_CONFIG_FILE=") || strings.HasPrefix(kv, "AWS_SHARED_CREDENTIALS_FILE=") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		if !containsString(drop, k) {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func pathEnv(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func runClient(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestContainerEndpoint(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	w.serve()
	w.mustMfad("unlock", "--code", w.user.Code(time.Now()))
	key := w.sts.Issued()[0].AccessKeyID

	vars := parseExports(t, w.mustMfad("env", "--container"))
	for _, name := range []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} {
		if vars[name] == "" {
			t.Fatalf("mfad env --container did not set %s: %v", name, vars)
		}
	}
	if !strings.HasSuffix(vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"], "/profiles/default") {
		t.Errorf("URI %s does not name the profile", vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
	}

	// aws-sdk-go-v2 reads the token file.
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])
	if got, _, _, _, err := w.sdkCredentials(""); err != nil || got != key {
		t.Fatalf("Go SDK with the token file: %s, %v", got, err)
	}

	// The shell evaluates the output as printed, quoting included; the
	// current botocore on the image reads the token file too.
	script := `eval "$("$MFAD" env --container)" && unset AWS_CONTAINER_AUTHORIZATION_TOKEN && exec python3 -c "$SCRIPT"`
	out, err := runClient(t, append(w.clientEnv(nil), append(w.env, "MFAD="+mfadBin, "SCRIPT="+botocoreScript)...), "bash", "-c", script)
	if err != nil || !strings.Contains(out, "key="+key) || !strings.Contains(out, "method=container-role") {
		t.Fatalf("botocore (image) after eval, token file only: %v\n%s", err, out)
	}

	// Debian's boto3 and AWS CLI v2 need the token itself: with both
	// variables set, as printed, they work.
	out, err = runClient(t, w.clientEnv(vars), debianPython, "-c", botocoreScript)
	if err != nil || !strings.Contains(out, "key="+key) {
		t.Fatalf("Debian boto3: %v\n%s", err, out)
	}
	out, err = runClient(t, w.clientEnv(vars), debianAWSCLI, "configure", "export-credentials", "--format", "process")
	if err != nil || !strings.Contains(out, `"AccessKeyId": "`+key+`"`) {
		t.Fatalf("AWS CLI v2: %v\n%s", err, out)
	}
	// Without the token variable AWS CLI v2 2.9 sends none, and is refused:
	// the reason both are printed.
	out, err = runClient(t, w.clientEnv(vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN"), debianAWSCLI, "configure", "export-credentials", "--format", "process")
	if err == nil || strings.Contains(out, key) {
		t.Fatalf("AWS CLI v2 without the token variable got credentials:\n%s", out)
	}

	// A wrong token gets nothing.
	bad := map[string]string{}
	for k, v := range vars {
		bad[k] = v
	}
	bad["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "not-the-token"
	out, _ = runClient(t, w.clientEnv(bad, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), debianPython, "-c", botocoreScript)
	if strings.Contains(out, key) {
		t.Fatalf("wrong token got credentials:\n%s", out)
	}

	// Locked: the clients that show the endpoint's message say what to run.
	w.mustMfad("lock")
	if _, _, _, _, err := w.sdkCredentials(""); err == nil || !strings.Contains(err.Error(), "mfad unlock") {
		t.Fatalf("Go SDK while locked: %v", err)
	}
	out, err = runClient(t, w.clientEnv(vars), debianAWSCLI, "configure", "export-credentials", "--format", "process")
	if err == nil || !strings.Contains(out, "mfad unlock") {
		t.Fatalf("AWS CLI v2 while locked: %v\n%s", err, out)
	}
}
