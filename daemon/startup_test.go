//go:build unix

package daemon

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
	saved := freeOSMemory
	freeOSMemory = func() {
		forced.Add(1)
		collected <- struct{}{}
	}
	t.Cleanup(func() { freeOSMemory = saved })

	opening := make(chan struct{})
	opened := make(chan struct{})
	r := startDaemon(t, func(c *Config) {
		c.OpenKeyring = func() error { close(opening); <-opened; return nil }
	})
	open := sync.OnceFunc(func() { close(opened) })
	t.Cleanup(open) // before the daemon stops, should the test end early
	<-opening

	token := r.token(t)
	role := r.raw(t, fmt.Sprintf("GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-aws-ec2-metadata-token: %s\r\nConnection: close\r\n\r\n", r.port, token))
	if role.status != 200 || role.body != "default" {
		t.Fatalf("role list while the keyring opens: %d %q", role.status, role.body)
	}
	if n := forced.Load(); n != 0 {
		t.Fatalf("%d forced collections while the keyring was opening and the first clients were answered", n)
	}

	open()
	select {
	case <-collected:
	case <-time.After(10 * time.Second):
		t.Fatal("start-up's garbage never handed back after the keyring opened")
	}
	// The one collection of start-up, not one more before it.
	if n := forced.Load(); n != 1 {
		t.Errorf("%d forced collections at start-up, want 1", n)
	}
}
