package peeruid

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tcpOwner asks the kernel through NETLINK_SOCK_DIAG for the one socket
// with the exact 4-tuple, and falls back to scanning /proc/net/tcp where
// netlink is not available (some sandboxes filter it).
func tcpOwner(client, server netip.AddrPort) (uint32, error) {
	uid, err := netlinkOwner(client, server)
	if err == nil || errors.Is(err, ErrNotFound) {
		return uid, err
	}
	uid, procErr := procOwner(client, server)
	if procErr != nil {
		return 0, fmt.Errorf("sock_diag: %v; /proc/net: %w", err, procErr)
	}
	return uid, nil
}

// Kernel structures from linux/inet_diag.h.
type inetDiagSockID struct {
	SPort  [2]byte // big endian
	DPort  [2]byte
	Src    [16]byte
	Dst    [16]byte
	If     uint32
	Cookie [2]uint32
}

type inetDiagReqV2 struct {
	Family   uint8
	Protocol uint8
	Ext      uint8
	Pad      uint8
	States   uint32
	ID       inetDiagSockID
}

type inetDiagMsg struct {
	Family  uint8
	State   uint8
	Timer   uint8
	Retrans uint8
	ID      inetDiagSockID
	Expires uint32
	RQueue  uint32
	WQueue  uint32
	UID     uint32
	Inode   uint32
}

const inetDiagNoCookie = ^uint32(0)

func netlinkOwner(client, server netip.AddrPort) (uint32, error) {
	family, src, dst := addrBytes(client.Addr(), server.Addr())
	req := inetDiagReqV2{
		Family:   family,
		Protocol: unix.IPPROTO_TCP,
		States:   ^uint32(0),
		ID: inetDiagSockID{
			Src:    src,
			Dst:    dst,
			Cookie: [2]uint32{inetDiagNoCookie, inetDiagNoCookie},
		},
	}
	binary.BigEndian.PutUint16(req.ID.SPort[:], client.Port())
	binary.BigEndian.PutUint16(req.ID.DPort[:], server.Port())
	return diag.query(req)
}

// tcpListenStates selects listening sockets (1 << TCP_LISTEN).
const tcpListenStates = 1 << 10

// netlinkListener asks for the socket a connection to addr would reach:
// the kernel looks the listener up as it would for an incoming connection,
// so one bound to 0.0.0.0 answers for 127.0.0.1 too.
func netlinkListener(addr netip.AddrPort) (uint32, error) {
	family, src, _ := addrBytes(addr.Addr(), addr.Addr())
	req := inetDiagReqV2{
		Family:   family,
		Protocol: unix.IPPROTO_TCP,
		States:   tcpListenStates,
		ID:       inetDiagSockID{Src: src, Cookie: [2]uint32{inetDiagNoCookie, inetDiagNoCookie}},
	}
	binary.BigEndian.PutUint16(req.ID.SPort[:], addr.Port())
	return diag.query(req)
}

// diag is the one NETLINK_INET_DIAG socket every lookup uses: opening and
// closing one per lookup cost as much as the lookup itself. Lookups take
// turns on it; one that fails closes it, and the next opens a new one.
var diag diagSocket

type diagSocket struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	buf [1024]byte // one inet_diag_msg with no attributes: well under a kilobyte
}

func (d *diagSocket) query(req inetDiagReqV2) (uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd <= 0 {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_INET_DIAG)
		if err != nil {
			return 0, fmt.Errorf("netlink socket: %w", err)
		}
		// Connected to the kernel, the socket takes plain writes and
		// reads: no address to build or decode on each lookup.
		if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			unix.Close(fd)
			return 0, fmt.Errorf("netlink connect: %w", err)
		}
		d.fd = fd
	}
	uid, err := d.exchange(req)
	if err != nil && !errors.Is(err, ErrNotFound) {
		unix.Close(d.fd)
		d.fd = 0
	}
	return uid, err
}

// exchange sends one request and reads its answer, skipping any stale
// answer to an earlier one. Called with d.mu held.
func (d *diagSocket) exchange(req inetDiagReqV2) (uint32, error) {
	const hdrLen = unix.SizeofNlMsghdr
	var msg [hdrLen + unsafe.Sizeof(inetDiagReqV2{})]byte
	d.seq++
	hdr := (*unix.NlMsghdr)(unsafe.Pointer(&msg[0]))
	hdr.Len = uint32(len(msg))
	hdr.Type = unix.SOCK_DIAG_BY_FAMILY
	hdr.Flags = unix.NLM_F_REQUEST
	hdr.Seq = d.seq
	*(*inetDiagReqV2)(unsafe.Pointer(&msg[hdrLen])) = req
	if _, err := unix.Write(d.fd, msg[:]); err != nil {
		return 0, fmt.Errorf("netlink send: %w", err)
	}
	for {
		n, err := unix.Read(d.fd, d.buf[:])
		if err != nil {
			return 0, fmt.Errorf("netlink receive: %w", err)
		}
		// The messages in the datagram, read in place.
		for b := d.buf[:n]; len(b) >= hdrLen; {
			m := (*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
			if m.Len < hdrLen || int(m.Len) > len(b) {
				return 0, errors.New("netlink: malformed answer")
			}
			data := b[hdrLen:m.Len]
			b = b[min(len(b), nlmAlign(int(m.Len))):]
			if m.Seq != d.seq {
				continue // the answer to a lookup that gave up
			}
			switch m.Type {
			case unix.NLMSG_ERROR:
				if len(data) >= 4 {
					errno := -int32(binary.NativeEndian.Uint32(data[:4]))
					if unix.Errno(errno) == unix.ENOENT {
						return 0, ErrNotFound
					}
					return 0, fmt.Errorf("netlink: %w", unix.Errno(errno))
				}
				return 0, errors.New("netlink: short error message")
			case unix.SOCK_DIAG_BY_FAMILY:
				if len(data) >= int(unsafe.Sizeof(inetDiagMsg{})) {
					reply := (*inetDiagMsg)(unsafe.Pointer(&data[0]))
					return reply.UID, nil
				}
			}
			return 0, ErrNotFound
		}
	}
}

// nlmAlign rounds a netlink message's length up to where the next begins.
func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// listenerOwner finds the listening socket a connection to addr reaches.
func listenerOwner(addr netip.AddrPort) (uint32, error) {
	uid, err := netlinkListener(addr)
	if err == nil || errors.Is(err, ErrNotFound) {
		return uid, err
	}
	uid, procErr := procListener(addr)
	if procErr != nil {
		return 0, fmt.Errorf("sock_diag: %v; /proc/net: %w", err, procErr)
	}
	return uid, nil
}

// procListener finds a listening socket (state 0A) on addr, or on the
// wildcard address and addr's port, in /proc/net/tcp or tcp6.
func procListener(addr netip.AddrPort) (uint32, error) {
	any := netip.IPv4Unspecified()
	file := "/proc/net/tcp"
	if !addr.Addr().Unmap().Is4() {
		file, any = "/proc/net/tcp6", netip.IPv6Unspecified()
	}
	exact, wildcard := procAddr(addr), procAddr(netip.AddrPortFrom(any, addr.Port()))
	found, uid, err := scanProc(file, func(fields []string) bool {
		return fields[3] == "0A" && (fields[1] == exact || fields[1] == wildcard)
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, ErrNotFound
	}
	return uid, nil
}

// addrBytes returns the address family and both addresses as the kernel
// writes them: IPv4 in the first four bytes, IPv6 in all sixteen.
func addrBytes(a, b netip.Addr) (family uint8, ab, bb [16]byte) {
	a, b = a.Unmap(), b.Unmap()
	if a.Is4() && b.Is4() {
		a4, b4 := a.As4(), b.As4()
		copy(ab[:], a4[:])
		copy(bb[:], b4[:])
		return unix.AF_INET, ab, bb
	}
	return unix.AF_INET6, a.As16(), b.As16()
}

// procOwner finds the client's socket in /proc/net/tcp or tcp6, where each
// line holds "local remote state ... uid", addresses in hex.
func procOwner(client, server netip.AddrPort) (uint32, error) {
	file := "/proc/net/tcp"
	if !client.Addr().Unmap().Is4() {
		file = "/proc/net/tcp6"
	}
	local, remote := procAddr(client), procAddr(server)
	found, uid, err := scanProc(file, func(fields []string) bool { return fields[1] == local && fields[2] == remote })
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, ErrNotFound
	}
	return uid, nil
}

// scanProc returns the uid of the first line of file that match accepts.
func scanProc(file string, match func(fields []string) bool) (bool, uint32, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || !match(fields) {
			continue
		}
		uid, err := strconv.ParseUint(fields[7], 10, 32)
		if err != nil {
			return false, 0, fmt.Errorf("%s: bad uid %q", file, fields[7])
		}
		return true, uint32(uid), nil
	}
	return false, 0, sc.Err()
}

// procAddr writes ap as /proc/net/tcp does: each 32-bit word of the
// address (network byte order in memory) printed as a native-endian
// number, then the port.
func procAddr(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	var raw []byte
	if a.Is4() {
		b := a.As4()
		raw = b[:]
	} else {
		b := a.As16()
		raw = b[:]
	}
	var sb strings.Builder
	for i := 0; i < len(raw); i += 4 {
		fmt.Fprintf(&sb, "%08X", binary.NativeEndian.Uint32(raw[i:i+4]))
	}
	fmt.Fprintf(&sb, ":%04X", ap.Port())
	return sb.String()
}
