//go:build unix

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/awssts"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/ststest"
)

// TestNoForcedCollectionWhileStarting starts a daemon whose keyring takes
// its time to open (as the file keyring's key derivation does) and asks
// the endpoint for a token and the role meanwhile: the daemon answers
// without forcing a collection, which stops the world just when a
// restarted daemon's first clients arrive. Start-up's garbage is handed
// back once, when the keyring has been read.
func TestNoForcedCollectionWhileStarting(t *testing.T) {
	var forced atomic.Int32
	collected := make(chan struct{}, 8)
	real := freeOSMemory
	freeOSMemory = func() {
		forced.Add(1)
		collected <- struct{}{}
	}
	t.Cleanup(func() { freeOSMemory = real })

	user := ststest.NewUser("123456789012", "alice")
	sts := ststest.NewServer(user)
	t.Cleanup(sts.Close)
	ststest.Setenv(t, sts, "[default]\nregion = eu-west-1\nmfa_serial = "+user.MFASerial+"\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &running{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, socket: filepath.Join(t.TempDir(), "run", "mfad.sock")}
	opening := make(chan struct{})
	opened := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- Run(ctx, Config{
			Listener: ln, Profile: "default", Socket: r.socket, STS: &awssts.Client{},
			Keys:        keystore.Fixed{},
			Logger:      slog.New(slog.DiscardHandler),
			OnReady:     func() { close(ready) },
			OpenKeyring: func() error { close(opening); <-opened; return nil },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		keystore.NewKernelSessions(filepath.Dir(r.socket)).Forget()
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("daemon stopped: %v", err)
	}
	<-opening

	token := r.token(t)
	role := r.raw(t, fmt.Sprintf("GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-aws-ec2-metadata-token: %s\r\nConnection: close\r\n\r\n", r.port, token))
	if role.status != 200 || role.body != "default" {
		t.Fatalf("role list while the keyring opens: %d %q", role.status, role.body)
	}
	if n := forced.Load(); n != 0 {
		t.Fatalf("%d forced collections while the keyring was opening and the first clients were answered", n)
	}

	close(opened)
	select {
	case <-collected:
	case <-time.After(10 * time.Second):
		t.Fatal("start-up's garbage never handed back after the keyring opened")
	}
	time.Sleep(50 * time.Millisecond)
	if n := forced.Load(); n != 1 {
		t.Errorf("%d forced collections at start-up, want 1", n)
	}
}
