//go:build !linux

package daemon

// hardenProcess does nothing here: core dumps of user processes are off by
// default on macOS and Windows.
func hardenProcess() error { return nil }
