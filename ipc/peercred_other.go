//go:build unix && !linux && !darwin

package ipc

import "errors"

// socketPeerUID is not implemented here; the server then refuses every
// connection rather than trust one it cannot attribute.
func socketPeerUID(int) (int, error) {
	return -1, errors.New("peer credentials are not supported on this system")
}
