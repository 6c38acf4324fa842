//go:build unix

package ipc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listener is the daemon's socket. Closing it removes the socket and lets
// another daemon start.
type Listener struct {
	net.Listener
	lock *os.File
}

// Close stops listening, removes the socket and releases the instance lock.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.lock.Close()
	return err
}

// Listen creates the socket at path for a daemon: the directory must be the
// user's own and private (it is created 0700 if missing), the socket is
// 0600, and a lock next to it makes sure only one daemon runs. A socket left
// behind by a daemon that died is replaced, under the lock, so two daemons
// starting at once cannot both take it.
func Listen(path string) (*Listener, error) {
	if err := ensurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open the lock for socket %s: %w", path, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &AlreadyRunningError{Socket: path}
		}
		return nil, fmt.Errorf("failed to lock socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		lock.Close()
		return nil, fmt.Errorf("failed to remove stale socket %s: %w", path, err)
	}
	// The directory is private, so the socket is never reachable by
	// others, even before the chmod below.
	ln, err := net.Listen("unix", path)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("failed to listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		lock.Close()
		return nil, fmt.Errorf("failed to restrict socket %s: %w", path, err)
	}
	return &Listener{Listener: ln, lock: lock}, nil
}

// ensurePrivateDir creates dir 0700 if it is missing, and otherwise checks
// that it is a real directory that only the user can enter. Anything else
// could be another user's trap: a socket in it could be theirs.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create the socket directory %s: %w", dir, err)
	}
	return checkPrivateDir(dir)
}

// PrivateDirError reports a socket directory that is not safe to use.
type PrivateDirError struct {
	Dir     string
	Problem string
}

func (e *PrivateDirError) Error() string {
	return "refusing to use socket directory " + e.Dir + ": " + e.Problem
}

// Hint says how to make the directory safe.
func (e *PrivateDirError) Hint() string {
	return "remove it, or make it a directory of your own with mode 0700 (chmod 700 " + e.Dir + ")"
}

func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("failed to inspect socket directory %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &PrivateDirError{dir, "it is a symbolic link"}
	case !fi.IsDir():
		return &PrivateDirError{dir, "it is not a directory"}
	case !ok || int(st.Uid) != os.Getuid():
		return &PrivateDirError{dir, "it belongs to another user"}
	case fi.Mode().Perm()&0o077 != 0:
		return &PrivateDirError{dir, fmt.Sprintf("its mode is %#o, others can enter it", fi.Mode().Perm())}
	}
	return nil
}

// defaultSocketPath is where the socket lives without MFAD_SOCKET: in
// $XDG_RUNTIME_DIR, else in the user's own state directory. Never under
// the shared temporary directory: another user could take a name there
// first, and the user could not remove it from a sticky /tmp.
func defaultSocketPath() string {
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "mfad", "mfad.sock")
	}
	return filepath.Join(userStateDir(), "run", "mfad.sock")
}

// userStateDir is $XDG_STATE_HOME/mfad, else ~/.local/state/mfad.
func userStateDir() string {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "mfad")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		// No home: a name no one else can have taken, in the current
		// directory, rather than a shared one.
		home = "."
	}
	return filepath.Join(home, ".local", "state", "mfad")
}

// UserStateDir returns mfad's directory in the user's state directory
// ($XDG_STATE_HOME/mfad, else ~/.local/state/mfad), created 0700 if
// missing and checked to be the user's own and private: for files that
// belong to the user alone, such as the log of a daemon `mfad init`
// starts.
func UserStateDir() (string, error) {
	dir := userStateDir()
	return dir, ensurePrivateDir(dir)
}

// StateDir returns a directory only the user can enter, for files that
// belong with the socket (the container endpoint's token): the socket's
// own directory, which Listen has checked.
func StateDir(socket string) (string, error) {
	dir := filepath.Dir(socket)
	return dir, checkPrivateDir(dir)
}

// dialSocket connects to the daemon's socket.
func dialSocket(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// peerIsSelf reports whether the process at the other end of c runs as
// the same user as this one.
func peerIsSelf(c net.Conn, _ bool) (bool, error) {
	uid, err := peerUID(c)
	return err == nil && uid == os.Getuid(), err
}

// checkSocketOwner makes sure the socket the client is about to trust with a
// code belongs to the user.
func checkSocketOwner(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("refusing to talk to socket %s: it belongs to another user", path)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("refusing to talk to %s: it is not a socket", path)
	}
	return nil
}
