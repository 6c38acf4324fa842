package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/cmd/internal/terminal"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

// keyStore is where the key commands (add, import, list, remove, doctor,
// init) keep and find keys: a keyring the command opens, or the one the
// running daemon has open.
type keyStore interface {
	Keys(profile string) (keystore.Keys, error)
	PutKeys(profile string, k keystore.Keys) error
	RemoveKeys(profile string) error
	RemoveSession(profile string) error
	Profiles() ([]string, error)
	Backend() string
}

// openKeys returns the running daemon's keyring when a daemon answers
// (it has the keyring open: its passphrase is not asked again, and the
// daemon and the command cannot disagree on where keys are), else the
// keyring itself, opened here.
func openKeys(cmd *cobra.Command, in *terminal.Input) (keyStore, error) {
	ctx := cmd.Context()
	client := &ipc.Client{}
	if st, err := client.Status(ctx); err == nil {
		if st.KeyringLocked {
			if _, err := openDaemonKeyring(cmd, in, client, st, false); err != nil {
				return nil, err
			}
		}
		if list, err := client.ListKeys(ctx); err == nil {
			return &daemonKeys{ctx: ctx, client: client, backend: list.Backend}, nil
		}
	}
	s, err := terminal.OpenKeystore(in)
	if err != nil {
		return nil, err // not a nil *Store in a non-nil keyStore
	}
	return s, nil
}

// daemonKeys is the running daemon's keyring, over the control socket.
type daemonKeys struct {
	ctx     context.Context
	client  *ipc.Client
	backend string
}

func (d *daemonKeys) Keys(profile string) (keystore.Keys, error) {
	resp, err := d.client.Keys(d.ctx, ipc.PathKeysGet, ipc.KeysRequest{Profile: profile})
	if err != nil {
		return keystore.Keys{}, err
	}
	return keystore.Keys{AccessKeyID: resp.AccessKeyID, SecretAccessKey: secret.New(resp.SecretAccessKey)}, nil
}

func (d *daemonKeys) PutKeys(profile string, k keystore.Keys) error {
	_, err := d.client.Keys(d.ctx, ipc.PathKeysPut, ipc.KeysRequest{Profile: profile, AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey.Reveal()})
	return err
}

func (d *daemonKeys) RemoveKeys(profile string) error {
	_, err := d.client.Keys(d.ctx, ipc.PathKeysRemove, ipc.KeysRequest{Profile: profile})
	return err
}

// RemoveSession has nothing to do: remove asks the daemon to lock the
// profile first, which forgets the kept session.
func (d *daemonKeys) RemoveSession(string) error { return nil }

func (d *daemonKeys) Profiles() ([]string, error) {
	list, err := d.client.ListKeys(d.ctx)
	if err != nil {
		return nil, err
	}
	return list.Profiles, nil
}

func (d *daemonKeys) Backend() string { return d.backend + ", through the running daemon" }
