//go:build unix

package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/mfad/mfad/daemon/awssts"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/daemon/ststest"
	"github.com/mfad/mfad/ipc"
)

// running is an in-process daemon with an unlocked session.
type running struct {
	addr   string // host:port of the IMDS endpoint
	port   int
	socket string
	creds  ststest.Credentials // what it serves
	logs   *strings.Builder
	sts    *ststest.Server
	user   ststest.User
}

func startUnlocked(t *testing.T) *running {
	t.Helper()
	r := startDaemon(t, nil)
	if _, err := (&ipc.Client{Socket: r.socket}).Unlock(context.Background(), "", r.user.Code(time.Now())); err != nil {
		t.Fatal(err)
	}
	r.creds = r.sts.Issued()[0]
	return r
}

// startDaemon starts an in-process daemon, still locked, for a new user of
// a fake STS; adjust, if not nil, changes its Config first. It returns
// once the daemon serves, and stops it when the test ends.
func startDaemon(t *testing.T, adjust func(*Config)) *running {
	t.Helper()
	user := ststest.NewUser("123456789012", "alice")
	sts := ststest.NewServer(user)
	t.Cleanup(sts.Close)
	ststest.Setenv(t, sts, "[default]\nregion = eu-west-1\nmfa_serial = "+user.MFASerial+"\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &running{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, sts: sts, user: user,
		socket: filepath.Join(t.TempDir(), "run", "mfad.sock"), logs: &strings.Builder{}}
	ready := make(chan struct{})
	cfg := Config{
		Listener: ln, Profile: "default", Socket: r.socket, STS: &awssts.Client{},
		Keys:    keystore.Fixed{"default": {AccessKeyID: user.AccessKeyID, SecretAccessKey: secret.New(user.SecretAccessKey)}},
		Logger:  slog.New(slog.NewTextHandler(&lockedWriter{b: r.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnReady: func() { close(ready) },
	}
	if adjust != nil {
		adjust(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		// Not left in the user's kernel keyring, whose quota the user's
		// own mfad shares.
		keystore.NewKernelSessions(filepath.Dir(r.socket)).Forget()
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("daemon stopped: %v", err)
	}
	return r
}

// lockedWriter lets the daemon's goroutines log into one builder.
type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// answer is what the server sent back to a raw request.
type answer struct {
	status int // 0 when the server closed the connection unanswered
	header http.Header
	body   string
}

// raw sends one request as bytes, as an attacker would.
func (r *running) raw(t *testing.T, request string) answer {
	t.Helper()
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		return answer{}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (r *running) token(t *testing.T) string {
	t.Helper()
	a := r.raw(t, fmt.Sprintf("PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-aws-ec2-metadata-token-ttl-seconds: 300\r\nConnection: close\r\n\r\n", r.port))
	if a.status != 200 {
		t.Fatalf("token: %d", a.status)
	}
	return a.body
}

// TestSlowSTSNeverDelaysIMDS holds an unlock on an STS that takes 30 s to
// answer, and reads credentials with the Go SDK meanwhile: every read
// completes while the unlock is still waiting.
func TestSlowSTSNeverDelaysIMDS(t *testing.T) {
	r := startUnlocked(t)
	r.sts.SetDelay(30 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	unlocked := make(chan error, 1)
	go func() {
		_, err := (&ipc.Client{Socket: r.socket}).Unlock(ctx, "", r.user.Code(time.Now().Add(30*time.Second)))
		unlocked <- err
	}()
	if err := r.sts.WaitForCalls(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	provider := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: "http://" + r.addr + "/"})
	})
	for i := range 20 {
		c, err := provider.Retrieve(context.Background())
		if err != nil || c.AccessKeyID != r.creds.AccessKeyID {
			t.Fatalf("read %d during a pending unlock: %v", i, err)
		}
	}
	select {
	case err := <-unlocked:
		t.Fatalf("the unlock finished before the reads: %v", err)
	default:
	}
	// The status answers from memory too.
	if _, err := (&ipc.Client{Socket: r.socket}).Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-unlocked
}
