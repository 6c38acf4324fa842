package keystore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// DeriveCommand is the argument with which the mfad binary runs as the
// key derivation child of a daemon (DeriveInChild). main dispatches on it
// before anything else.
const DeriveCommand = "__derive-file-keyring-key"

// scryptKey runs scrypt for stretch. It runs in this process unless
// DeriveInChild was called.
var scryptKey = func(passphrase []byte, p kdfParams) ([]byte, error) {
	return scrypt.Key(passphrase, p.Salt, p.N, p.R, p.P, scryptKeyLen)
}

// DeriveInChild makes this process derive the file keyring's key in a
// child process (exe DeriveCommand) instead of itself. scrypt takes
// 32 MiB for a moment; in the daemon, that would set its resident
// high-water mark and leave heap behind for the rest of its life. The
// passphrase goes to the child on a pipe, the key comes back on one; the
// child's environment is empty.
func DeriveInChild(exe string) {
	scryptKey = func(passphrase []byte, p kdfParams) ([]byte, error) {
		in, err := json.Marshal(deriveRequest{Params: p, Passphrase: passphrase})
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe, DeriveCommand)
		cmd.Env = []string{}
		dieWithParent(cmd)
		cmd.Stdin = bytes.NewReader(in)
		var out, stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("deriving the file keyring's key in %s: %v", exe, err)
		}
		// The answer is read to its end (the child's exit) before Wait:
		// a pipe waits in the network poller, while Wait's system call
		// would block a thread for the tenth of a second scrypt takes,
		// and the runtime would start another to run the daemon
		// meanwhile, which it keeps for the process's life (about 45 kB).
		_, readErr := out.ReadFrom(stdout)
		if err := errors.Join(cmd.Wait(), readErr); err != nil {
			return nil, fmt.Errorf("deriving the file keyring's key in %s: %v: %s", exe, err, strings.TrimSpace(stderr.String()))
		}
		key, err := base64.RawStdEncoding.DecodeString(strings.TrimSpace(out.String()))
		if err != nil || len(key) != scryptKeyLen {
			return nil, errors.New("deriving the file keyring's key: the child answered no key")
		}
		return key, nil
	}
}

type deriveRequest struct {
	Params     kdfParams `json:"params"`
	Passphrase []byte    `json:"passphrase"`
}

// ServeDerivation is the child's side of DeriveInChild: it reads the
// request from in and writes the key to out.
func ServeDerivation(in io.Reader, out io.Writer) error {
	var req deriveRequest
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return fmt.Errorf("bad request: %w", err)
	}
	if err := req.Params.check(); err != nil {
		return err
	}
	key, err := scrypt.Key(req.Passphrase, req.Params.Salt, req.Params.N, req.Params.R, req.Params.P, scryptKeyLen)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, base64.RawStdEncoding.EncodeToString(key))
	return err
}
