//go:build !linux

package keystore

import (
	"fmt"
	"runtime"
	"time"
)

func kernelRead(string) ([]byte, error) { return nil, kernelUnsupported() }

func kernelWrite(string, []byte, time.Duration) error { return kernelUnsupported() }

func kernelRemove(string) error { return kernelUnsupported() }

func kernelUnsupported() error {
	return fmt.Errorf("%w: no kernel keyrings on %s", ErrUnsupported, runtime.GOOS)
}
