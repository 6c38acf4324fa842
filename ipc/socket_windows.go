package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// Listener is the daemon's named pipe.
type Listener struct {
	net.Listener
}

// Listen creates the daemon's named pipe. Its DACL admits the user's SID
// alone, and the pipe is created as its first instance, so a pipe another
// process already holds under the name is never shared.
func Listen(path string) (*Listener, error) {
	sid, err := currentSID()
	if err != nil {
		return nil, err
	}
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: "D:P(A;;GA;;;" + sid.String() + ")"})
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, &AlreadyRunningError{Socket: path}
		}
		return nil, fmt.Errorf("failed to create pipe %s: %w", path, err)
	}
	return &Listener{Listener: ln}, nil
}

func defaultSocketPath() string {
	name := "user"
	if sid, err := currentSID(); err == nil {
		name = sid.String()
	}
	return `\\.\pipe\mfad-` + strings.ReplaceAll(name, `\`, "-")
}

// StateDir returns mfad's directory in the user's local application data,
// which only the user can enter.
func StateDir(string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "mfad")
	return dir, os.MkdirAll(dir, 0o700)
}

// UserStateDir returns mfad's directory in the user's local application
// data, as StateDir does.
func UserStateDir() (string, error) { return StateDir("") }

func dialSocket(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, path)
}

// checkSocketOwner has nothing to check before dialling a pipe: the
// process behind it is checked once connected.
func checkSocketOwner(string) error { return nil }

// peerIsSelf reports whether the process at the other end of the pipe runs
// as this process's user.
func peerIsSelf(c net.Conn, server bool) (bool, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return false, errors.New("not a named pipe connection")
	}
	var pid uint32
	var err error
	if server {
		err = windows.GetNamedPipeClientProcessId(windows.Handle(f.Fd()), &pid)
	} else {
		err = windows.GetNamedPipeServerProcessId(windows.Handle(f.Fd()), &pid)
	}
	if err != nil {
		return false, err
	}
	proc, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return false, err
	}
	defer windows.CloseHandle(proc)
	var token windows.Token
	if err := windows.OpenProcessToken(proc, windows.TOKEN_QUERY, &token); err != nil {
		return false, err
	}
	defer token.Close()
	user, err := token.GetTokenUser()
	if err != nil {
		return false, err
	}
	self, err := currentSID()
	if err != nil {
		return false, err
	}
	return windows.EqualSid(user.User.Sid, self), nil
}

func currentSID() (*windows.SID, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("failed to read the current user's SID: %w", err)
	}
	return user.User.Sid, nil
}
