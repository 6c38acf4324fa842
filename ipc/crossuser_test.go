//go:build unix

package ipc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfad/mfad/ipc/ipctest"
)

const helperSocketEnv = "MFAD_TEST_IPC_CLIENT"

// TestHelperRawClient is not a test: run as another user, it asks the
// daemon at $MFAD_TEST_IPC_CLIENT for its status without the client's own
// checks, and prints the answer.
func TestHelperRawClient(t *testing.T) {
	path := os.Getenv(helperSocketEnv)
	if path == "" {
		return
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := c.Get("http://" + Host + PathStatus)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	fmt.Println("status:", resp.StatusCode)
}

// TestServerRefusesOtherUser opens the socket to everyone, as a careless
// set-up might, and checks that the server's own peer check still refuses
// another user.
func TestServerRefusesOtherUser(t *testing.T) {
	ipctest.RequireRoot(t)
	dir, err := os.MkdirTemp("", "mfad-ipc-crossuser-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := startServerIn(t, dir, &fakeBackend{})
	if err := os.Chmod(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	out := ipctest.RunAs(ipctest.OtherUID, ipctest.HelperBinary(t), []string{helperSocketEnv + "=" + path}, "-test.run=^TestHelperRawClient$")
	if !strings.Contains(out, "status: 403") {
		t.Fatalf("another user got through:\n%s", out)
	}
}

// TestClientRefusesOtherUsersSocket: a socket planted by another user must
// never receive a code.
func TestClientRefusesOtherUsersSocket(t *testing.T) {
	ipctest.RequireRoot(t)
	b := &fakeBackend{}
	path := startServer(t, b)
	if err := os.Lchown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := (&Client{Socket: path}).Unlock(context.Background(), "default", "123456")
	if err == nil || !strings.Contains(err.Error(), "belongs to another user") {
		t.Fatalf("client talked to another user's socket: %v", err)
	}
	if len(b.unlocks) != 0 {
		t.Fatal("code delivered")
	}
}
