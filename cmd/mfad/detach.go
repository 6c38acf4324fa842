package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mfad/mfad/ipc"
)

// startDaemon starts `mfad serve ARGS` in the background, in a session of
// its own with no terminal, its log in the user's own state directory
// (never a shared one, where another user could have put a file or a link
// by that name first), and waits for it to answer. Without a terminal the
// daemon asks for nothing: a file keyring waits for `mfad unlock` to send
// its passphrase.
func startDaemon(ctx context.Context, client *ipc.Client, args ...string) (*ipc.Status, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	dir, err := ipc.UserStateDir()
	if err != nil {
		return nil, "", err
	}
	logPath := filepath.Join(dir, "mfad.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|openNoFollow, 0o600)
	if err != nil {
		return nil, "", err
	}
	defer log.Close()
	serve := exec.Command(exe, append([]string{"serve"}, args...)...)
	serve.Stdout, serve.Stderr = log, log
	detach(serve)
	if err := serve.Start(); err != nil {
		return nil, "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	deadline := time.After(10 * time.Second)
	for {
		if st, err := client.Status(ctx); err == nil {
			return st, logPath, nil
		}
		select {
		case err := <-exited:
			return nil, logPath, fmt.Errorf("the daemon stopped (%v); its log is %s", err, logPath)
		case <-deadline:
			return nil, logPath, fmt.Errorf("the daemon did not start within 10s; its log is %s", logPath)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
