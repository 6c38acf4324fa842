package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/99designs/keyring"

	"github.com/mfad/mfad/daemon/privatefile"
	"github.com/mfad/mfad/ipc"
)

// One keyring, one truth: the backend that first holds mfad's keys is
// recorded (a file "backend" in the data directory, beside the file
// keyring), and every later command and the daemon open that one, not the
// first that answers: otherwise keys stored while no Secret Service ran
// (in the file keyring) would seem to vanish once one runs. Moving them is
// an explicit `mfad keyring migrate`.

// RecordedBackend returns the backend recorded in path, or "".
func RecordedBackend(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// record notes s's backend as the one that holds the keys, unless one is
// noted already.
func (s *Store) record() error {
	if s.recordFile == "" || RecordedBackend(s.recordFile) != "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.recordFile), 0o700); err != nil {
		return err
	}
	return privatefile.Write(s.recordFile, []byte(s.backend+"\n"))
}

// items returns every item mfad keeps in s: keys, kept sessions, the
// passphrase check.
func (s *Store) items() ([]keyring.Item, error) {
	var names []string
	if err := s.do(func() (err error) { names, err = s.ring.Keys(); return err }); err != nil {
		return nil, s.wrap("list the keyring", err)
	}
	var items []keyring.Item
	for _, n := range names {
		if !strings.HasPrefix(n, "mfad/") {
			continue
		}
		var it keyring.Item
		if err := s.do(func() (err error) { it, err = s.ring.Get(n); return err }); err != nil {
			return nil, s.wrap("read "+n, err)
		}
		items = append(items, it)
	}
	return items, nil
}

// Migrate moves every item of mfad's from src to dst: copied, each read
// back and compared, dst recorded as the keyring, and only then removed
// from src. It returns how many items moved. A failure before the record
// leaves src as it was, and the keys in it.
func Migrate(src, dst *Store) (int, error) {
	if src.backend == dst.backend {
		return 0, ipc.NewError(ipc.KindBadRequest, "the keys are in the "+src.backend+" keyring already", "")
	}
	if err := dst.Unlock(); err != nil {
		return 0, err
	}
	items, err := src.items()
	if err != nil {
		return 0, err
	}
	for _, it := range items {
		if err := dst.do(func() error { return dst.ring.Set(it) }); err != nil {
			return 0, dst.wrap("copy "+it.Key, err)
		}
	}
	for _, it := range items {
		var back keyring.Item
		err := dst.do(func() (err error) { back, err = dst.ring.Get(it.Key); return err })
		if err != nil || string(back.Data) != string(it.Data) {
			return 0, fmt.Errorf("the copy of %s in the %s keyring does not read back (%v): nothing was removed from the %s keyring", it.Key, dst.backend, err, src.backend)
		}
	}
	if dst.recordFile != "" {
		if err := privatefile.Write(dst.recordFile, []byte(dst.backend+"\n")); err != nil {
			return 0, err
		}
	}
	for _, it := range items {
		err := src.do(func() error { return src.ring.Remove(it.Key) })
		if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) && !errors.Is(err, fs.ErrNotExist) {
			return len(items), src.wrap("remove "+it.Key+" after copying it", err)
		}
	}
	return len(items), nil
}

// FileKeyringProfiles lists the profiles with keys in the file keyring,
// without its passphrase: the file backend names each file after its item.
// Commands that use another keyring say so, so that keys stored there
// earlier are not taken for lost.
func FileKeyringProfiles(opts Options) []string {
	var profiles []string
	for _, dir := range []string{layoutOf(opts.FileDir).dir, opts.FileDir} {
		ring, err := keyring.Open(keyring.Config{ServiceName: serviceName, AllowedBackends: []keyring.BackendType{keyring.FileBackend},
			FileDir: dir, FilePasswordFunc: func(string) (string, error) { return "", errors.New("not needed") }})
		if err != nil {
			continue
		}
		names, _ := ring.Keys()
		for _, n := range names {
			if p, ok := strings.CutPrefix(n, keysPrefix); ok {
				profiles = append(profiles, p)
			}
		}
	}
	return profiles
}
