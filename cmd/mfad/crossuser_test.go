//go:build unix

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// otherUID is the user the cross-user tests act as: nobody.
const otherUID = 65534

// helperEnv makes a copy of this test binary act as a plain HTTP client.
const helperEnv = "MFAD_TEST_HTTP_CLIENT"

// TestHelperHTTPClient is not a test: run by runAsOtherUser, it fetches
// credentials from the IMDS endpoint in $MFAD_TEST_HTTP_CLIENT the way an
// SDK does and prints each status.
func TestHelperHTTPClient(t *testing.T) {
	endpoint := os.Getenv(helperEnv)
	if endpoint == "" {
		return
	}
	req, _ := http.NewRequest(http.MethodPut, endpoint+"latest/api/token", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
	token := ""
	if resp, err := http.DefaultClient.Do(req); err != nil {
		fmt.Println("token error:", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println("token:", resp.StatusCode)
		if resp.StatusCode == 200 {
			token = string(body)
		}
	}
	req, _ = http.NewRequest(http.MethodGet, endpoint+"latest/meta-data/iam/security-credentials/default", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token", token)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		fmt.Println("credentials error:", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("credentials: %d %s\n", resp.StatusCode, body)
	}
}

// requireRoot fails in CI, which runs as root, and skips elsewhere: only
// root can start a process as another user.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("cross-user tests need root, and CI runs as root")
	}
	t.Skip("cross-user tests need root to act as another user; CI runs them")
}

// helperBinary returns a copy of this test binary that any user can run.
func helperBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mfad-crossuser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "client")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// runAs runs bin as uid and returns what it printed.
func runAs(t *testing.T, uid uint32, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"HOME=/", "PATH=/usr/bin:/bin"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func TestOtherUserRefused(t *testing.T) {
	requireRoot(t)
	w := newWorld(t)
	w.addKeys()
	d := w.serve()
	w.mustMfad("unlock", "--code", w.user.Code(time.Now()))
	secretKey := w.sts.Issued()[0].SecretAccessKey

	// The same user gets credentials.
	client := helperBinary(t)
	out := runAs(t, uint32(os.Getuid()), client, []string{helperEnv + "=" + d.endpoint}, "-test.run=^TestHelperHTTPClient$")
	if !strings.Contains(out, "token: 200") || !strings.Contains(out, "credentials: 200") || !strings.Contains(out, secretKey) {
		t.Fatalf("same user:\n%s", out)
	}
	// Another user is refused at every step, and sees no secret.
	out = runAs(t, otherUID, client, []string{helperEnv + "=" + d.endpoint}, "-test.run=^TestHelperHTTPClient$")
	if !strings.Contains(out, "token: 403") || !strings.Contains(out, "credentials: 403") || strings.Contains(out, secretKey) {
		t.Fatalf("other user:\n%s", out)
	}
	st := w.mustMfad("status", "--json")
	if !strings.Contains(st, `"refused_other_user": 2`) {
		t.Errorf("refusals not counted: %s", st)
	}

	// Nor can it reach the control socket.
	socket := filepath.Join(w.home, "run", "mfad", "mfad.sock")
	out = runAs(t, otherUID, mfadBin, []string{"MFAD_SOCKET=" + socket}, "status")
	if !strings.Contains(out, "mfad: ") || !strings.Contains(out, "permission denied") {
		t.Fatalf("other user on the control socket:\n%s", out)
	}
}
