package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/user"
	"strconv"

	"github.com/mfad/mfad/daemon/peeruid"
)

// listenFDsStart is the first file descriptor a service manager passes.
const listenFDsStart = 3

// InheritedListener returns the IMDS endpoint's listener when a service
// manager passed one (systemd socket activation: LISTEN_FDS=1, and
// LISTEN_PID this process's or unset), else nil. The manager holds the
// port from login on, across restarts and upgrades of the daemon: no other
// user can take it in between, and a client's connection waits in the
// kernel's queue for the next daemon instead of being refused. The
// variables are removed so that no child takes the socket for its own.
func InheritedListener() (net.Listener, error) {
	fds, pid := os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_PID")
	if fds == "" || (pid != "" && pid != strconv.Itoa(os.Getpid())) {
		return nil, nil
	}
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDNAMES")
	if fds != "1" {
		return nil, fmt.Errorf("the service manager passed %s sockets; mfad takes one (ListenStream= once in mfad.socket)", fds)
	}
	f := os.NewFile(listenFDsStart, "mfad.socket")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("the socket the service manager passed is not a TCP listener: %w", err)
	}
	return ln, nil
}

// HolderOf says who listens on the loopback address addr (host:port):
// nobody (0, false), or a user ID. Commands ask before they point tools at
// an endpoint or report on one: SDKs cannot tell a metadata service from
// an impostor.
func HolderOf(addr string) (uint32, bool, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0, false, err
	}
	uid, err := peeruid.ListenerOwner(ap)
	switch {
	case err == peeruid.ErrNotFound:
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return uid, true, nil
}

// SquatterError reports an endpoint address held by another user, who
// would hand out their own credentials to the user's AWS tools.
type SquatterError struct {
	Addr string
	UID  uint32
}

func (e *SquatterError) Error() string {
	who := "uid " + strconv.Itoa(int(e.UID))
	if u, err := user.LookupId(strconv.Itoa(int(e.UID))); err == nil {
		who += " (" + u.Username + ")"
	}
	return e.Addr + " is held by " + who + ", not by you: do not use it: AWS tools pointed at it would get that user's credentials, and their requests would go to that user's account"
}

// Hint says what to do.
func (e *SquatterError) Hint() string {
	return "start mfad on another port (mfad serve --listen 127.0.0.1:PORT, or mfad service install --listen 127.0.0.1:PORT) and tell your administrator; socket activation (mfad service install) holds the port from login on"
}

// CheckHolder returns a *SquatterError when another user listens on addr.
func CheckHolder(addr string) error {
	uid, held, err := HolderOf(addr)
	if err != nil || !held || int(uid) == os.Getuid() {
		return nil
	}
	return &SquatterError{Addr: addr, UID: uid}
}
