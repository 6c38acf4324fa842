package keystore

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// kernelPerm lets the key's user, and processes holding its keyring, view,
// read, write, search and set its attributes (KEY_POS_* and KEY_USR_* of
// linux/keyctl.h, bits view 0x01, read 0x02, write 0x04, search 0x08,
// setattr 0x20); its group and others nothing.
const kernelPerm = 0x2f<<24 | 0x2f<<16

// kernelRead returns the payload of the user's key desc, or nil if there
// is none.
func kernelRead(desc string) ([]byte, error) {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", desc, 0)
	switch {
	case errors.Is(err, unix.ENOKEY), errors.Is(err, unix.EKEYEXPIRED), errors.Is(err, unix.EKEYREVOKED):
		return nil, nil
	case err != nil:
		return nil, kernelError(err)
	}
	buf := make([]byte, 4096)
	for {
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return nil, kernelError(err)
		}
		if n <= len(buf) {
			return buf[:n], nil
		}
		buf = make([]byte, n)
	}
}

// kernelWrite sets the user's key desc to data, to expire after ttl.
func kernelWrite(desc string, data []byte, ttl time.Duration) error {
	id, err := unix.AddKey("user", desc, data, unix.KEY_SPEC_USER_KEYRING)
	if err != nil {
		return kernelError(err)
	}
	if err := unix.KeyctlSetperm(id, kernelPerm); err != nil {
		return kernelError(err)
	}
	_, err = unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, id, int(max(ttl/time.Second, 1)), 0, 0)
	return kernelError(err)
}

// kernelRemove drops the user's key desc; none is no error.
func kernelRemove(desc string) error {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", desc, 0)
	if err != nil {
		return nil
	}
	_, err = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0)
	return kernelError(err)
}

func kernelError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM): // not built in; refused by seccomp
		return fmt.Errorf("%w: the kernel's keyrings: %v", ErrUnsupported, err)
	}
	return fmt.Errorf("the kernel's keyrings: %w", err)
}
