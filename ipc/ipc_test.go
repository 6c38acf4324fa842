//go:build unix

package ipc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

type fakeBackend struct {
	unlocks []UnlockRequest
}

func (f *fakeBackend) Status(context.Context) (Status, error) {
	return Status{Version: "test", IMDSEndpoint: "http://127.0.0.1:9911/", Profiles: []ProfileStatus{{Name: "default", State: StateLocked}}}, nil
}

func (f *fakeBackend) Unlock(_ context.Context, req UnlockRequest) (UnlockResponse, error) {
	f.unlocks = append(f.unlocks, req)
	if req.Code != "123456" {
		return UnlockResponse{}, &Error{Status: http.StatusUnauthorized, Kind: KindInvalidCode, Message: "wrong code", Hint: "wait for the next code"}
	}
	return UnlockResponse{Profile: req.Profile, Expiration: "2026-11-28T00:00:00Z"}, nil
}

func (f *fakeBackend) OpenKeyring(context.Context, KeyringRequest) (KeyringResponse, error) {
	return KeyringResponse{}, nil
}

func (f *fakeBackend) ListKeys(context.Context) (KeysList, error) { return KeysList{}, nil }
func (f *fakeBackend) GetKeys(context.Context, KeysRequest) (KeysResponse, error) {
	return KeysResponse{}, nil
}
func (f *fakeBackend) PutKeys(context.Context, KeysRequest) (KeysResponse, error) {
	return KeysResponse{}, nil
}
func (f *fakeBackend) RemoveKeys(context.Context, KeysRequest) (KeysResponse, error) {
	return KeysResponse{}, nil
}

func (f *fakeBackend) Lock(_ context.Context, req LockRequest) (LockResponse, error) {
	if req.Profile == "boom" {
		return LockResponse{}, errors.New("plain failure")
	}
	return LockResponse{Profile: req.Profile, WasLocked: true}, nil
}

// startServer runs the control API on a real socket in a private directory.
func startServer(t *testing.T, b Backend) string {
	t.Helper()
	return startServerIn(t, t.TempDir(), b)
}

func startServerIn(t *testing.T, base string, b Backend) string {
	t.Helper()
	path := filepath.Join(base, "run", "mfad.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(b, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return path
}

func TestRoundTrip(t *testing.T) {
	b := &fakeBackend{}
	c := &Client{Socket: startServer(t, b)}
	ctx := context.Background()

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.IMDSEndpoint != "http://127.0.0.1:9911/" || len(st.Profiles) != 1 || st.Profiles[0].State != StateLocked {
		t.Fatalf("status %+v", st)
	}

	resp, err := c.Unlock(ctx, "default", "123456")
	if err != nil || resp.Expiration != "2026-11-28T00:00:00Z" {
		t.Fatalf("unlock: %+v, %v", resp, err)
	}
	if len(b.unlocks) != 1 || b.unlocks[0] != (UnlockRequest{Profile: "default", Code: "123456"}) {
		t.Fatalf("backend saw %+v", b.unlocks)
	}

	_, err = c.Unlock(ctx, "default", "000000")
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindInvalidCode || e.Message != "wrong code" || e.Hint != "wait for the next code" || e.Status != http.StatusUnauthorized {
		t.Fatalf("error did not cross intact: %#v", err)
	}

	_, err = c.Lock(ctx, "boom")
	if !errors.As(err, &e) || e.Kind != KindInternal || e.Message != "plain failure" {
		t.Fatalf("plain error: %#v", err)
	}
}

func TestSocketIsPrivate(t *testing.T) {
	path := startServer(t, &fakeBackend{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want socket 0600", fi.Mode())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
}

func TestNotRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mfad.sock")
	_, err := (&Client{Socket: path}).Status(context.Background())
	var nr *NotRunningError
	if !errors.As(err, &nr) || nr.Socket != path {
		t.Fatalf("missing socket: %v", err)
	}

	// A socket file left by a daemon that died: nothing listens.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, err = (&Client{Socket: path}).Status(context.Background())
	if !errors.As(err, &nr) {
		t.Fatalf("stale socket: %v", err)
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	path := startServer(t, &fakeBackend{})
	_, err := Listen(path)
	var running *AlreadyRunningError
	if !errors.As(err, &running) {
		t.Fatalf("second Listen: %v, want AlreadyRunningError", err)
	}
	// The first daemon still answers.
	if _, err := (&Client{Socket: path}).Status(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mfad.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()

	l, err := Listen(path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket left behind after Close: %v", err)
	}
}

func TestUnsafeDirectoryRefused(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(base, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{open, link} {
		_, err := Listen(filepath.Join(dir, "mfad.sock"))
		var pe *PrivateDirError
		if !errors.As(err, &pe) {
			t.Errorf("%s: Listen gave %v, want PrivateDirError", dir, err)
		}
	}
}

func TestForeignRequestsRefused(t *testing.T) {
	path := startServer(t, &fakeBackend{})
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	for _, tc := range []struct {
		name string
		host string
		hdr  string
	}{
		{"other host", "evil.example", ""},
		{"browser", Host, "Origin"},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+PathStatus, nil)
		if tc.hdr != "" {
			req.Header.Set(tc.hdr, "https://evil.example")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, resp.StatusCode)
		}
	}
}

func TestDefaultSocketPath(t *testing.T) {
	t.Setenv(SocketEnv, "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got := DefaultSocketPath(); got != "/run/user/1000/mfad/mfad.sock" {
		t.Errorf("with XDG_RUNTIME_DIR: %s", got)
	}
	// Without a runtime directory: the user's own state directory,
	// never a name in the shared temporary directory.
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_STATE_HOME", "/home/alice/.state")
	if got, want := DefaultSocketPath(), "/home/alice/.state/mfad/run/mfad.sock"; got != want {
		t.Errorf("without XDG_RUNTIME_DIR: %s, want %s", got, want)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/alice")
	if got, want := DefaultSocketPath(), "/home/alice/.local/state/mfad/run/mfad.sock"; got != want {
		t.Errorf("without XDG_RUNTIME_DIR and XDG_STATE_HOME: %s, want %s", got, want)
	}
	t.Setenv(SocketEnv, "/elsewhere/m.sock")
	if got := DefaultSocketPath(); got != "/elsewhere/m.sock" {
		t.Errorf("with %s: %s", SocketEnv, got)
	}
}
