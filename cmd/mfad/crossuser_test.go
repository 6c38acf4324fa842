//go:build unix

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfad/mfad/ipc/ipctest"
)

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

func TestOtherUserRefused(t *testing.T) {
	ipctest.RequireRoot(t)
	w := newWorld(t)
	w.addKeys()
	d := w.serve()
	w.mustMfad("unlock", "--code", w.user.Code(time.Now()))
	secretKey := w.sts.Issued()[0].SecretAccessKey

	// The same user gets credentials.
	client := ipctest.HelperBinary(t)
	out := ipctest.RunAs(uint32(os.Getuid()), client, []string{helperEnv + "=" + d.endpoint}, "-test.run=^TestHelperHTTPClient$")
	if !strings.Contains(out, "token: 200") || !strings.Contains(out, "credentials: 200") || !strings.Contains(out, secretKey) {
		t.Fatalf("same user:\n%s", out)
	}
	// Another user's connections are closed unread at every step: it
	// gets no answer at all, and sees no secret.
	out = ipctest.RunAs(ipctest.OtherUID, client, []string{helperEnv + "=" + d.endpoint}, "-test.run=^TestHelperHTTPClient$")
	if !strings.Contains(out, "token error:") || !strings.Contains(out, "credentials error:") || strings.Contains(out, secretKey) {
		t.Fatalf("other user:\n%s", out)
	}
	st := w.mustMfad("status", "--json")
	if !strings.Contains(st, `"refused_other_user": 2`) {
		t.Errorf("refusals not counted: %s", st)
	}

	// Nor can it reach the control socket.
	socket := filepath.Join(w.home, "run", "mfad", "mfad.sock")
	out = ipctest.RunAs(ipctest.OtherUID, mfadBin, []string{"MFAD_SOCKET=" + socket}, "status")
	if !strings.Contains(out, "mfad: ") || !strings.Contains(out, "permission denied") {
		t.Fatalf("other user on the control socket:\n%s", out)
	}
}
