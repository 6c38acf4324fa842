// Package privatefile writes files only their owner can read, whole or not
// at all: a reader never sees half a file, and nothing is left behind when
// writing fails.
package privatefile

import (
	"os"
	"path/filepath"
)

// Write replaces path with a file of mode 0600 holding data. It is written
// under a random name in the same directory first, then renamed, so it
// never follows a link planted at path's name.
func Write(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
