//go:build unix

package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mfad/mfad/ipc/ipctest"
)

// squatEnv makes a copy of this test binary listen on a free loopback
// port, print its address, and hold it until its stdin closes.
const squatEnv = "MFAD_TEST_SQUAT"

// TestHelperSquat is not a test: run as another user, it is the squatter.
// With squatEnv set to an address, it tries to take that one instead, in
// a loop for two seconds, and says whether it ever did.
func TestHelperSquat(t *testing.T) {
	target := os.Getenv(squatEnv)
	if target == "" {
		return
	}
	if target != "1" {
		tries := 0
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); tries++ {
			if ln, err := net.Listen("tcp", target); err == nil {
				ln.Close()
				os.Stdout.WriteString("took " + target + "\n")
				return
			}
		}
		os.Stdout.WriteString("never took " + target + " in " + strconv.Itoa(tries) + " tries\n")
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	os.Stdout.WriteString(ln.Addr().String() + "\n")
	io.Copy(io.Discard, os.Stdin)
}

// TestSquatterNamed: another user listens on the port mfad would use.
// `mfad serve` says who holds it, and status and doctor refuse to call an
// endpoint held by someone else fine, with the user's name.
func TestSquatterNamed(t *testing.T) {
	ipctest.RequireRoot(t)
	w := newWorld(t)
	w.addKeys()
	helper := ipctest.HelperBinary(t)
	squat := exec.Command(helper, "-test.run=^TestHelperSquat$")
	squat.Env = []string{"HOME=/", squatEnv + "=1"}
	squat.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: ipctest.OtherUID, Gid: ipctest.OtherUID}}
	stdin, _ := squat.StdinPipe()
	stdout, _ := squat.StdoutPipe()
	if err := squat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); squat.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(line)
	held := addr + " is held by uid 65534 (nobody), not by you: do not use it"

	expectFailure(t, w.mfad("", nil, "serve", "--listen", addr), held, "mfad serve --listen 127.0.0.1:PORT")
	shell := []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + addr + "/"}
	expectFailure(t, w.mfad("", shell, "status"), held, "tell your administrator")
	expectFailure(t, w.mfad("", shell, "unlock", "--code", "123456"), held, "tell your administrator")
	doctor := w.mfad("", shell, "doctor")
	if doctor.exit == 0 || !strings.Contains(doctor.stdout, "PROBLEM  endpoint: "+held) {
		t.Fatalf("doctor:\n%s", doctor.stdout)
	}
	// With the user's own daemon running, status still names the shell's
	// endpoint as another user's.
	w.serve()
	expectFailure(t, w.mfad("", shell, "status"), held, "tell your administrator")
}

// TestSocketActivationRestartIsInvisible: the endpoint's socket is held by
// the service manager (here the test), and passed to the daemon
// (LISTEN_FDS). A program asking for credentials in a loop while the
// daemon is restarted never sees a failure: requests wait in the kernel's
// queue for the next daemon, which restores the session from the keyring.
func TestSocketActivationRestartIsInvisible(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	socket, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer socket.Close()
	activated := func(cmd *exec.Cmd) {
		cmd.ExtraFiles = []*os.File{socket}
		cmd.Env = append(cmd.Env, "LISTEN_FDS=1")
	}
	d, logs := w.serveWith(activated, "--log-level", "debug")
	allLogs := []*syncBuffer{logs}
	if d.endpoint != "http://"+ln.Addr().String()+"/" {
		t.Fatalf("the daemon serves %s, not the socket it was passed (%s)", d.endpoint, ln.Addr())
	}
	w.mustMfad("unlock", "--code", w.freshCode())

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	endpoint := d.endpoint // every daemon serves the one socket
	ctx, cancel := context.WithCancel(context.Background())
	var asked, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				asked.Add(1)
				if err := sdkSequence(client, endpoint); err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	// Another user tries to take the port all the while.
	squatter := make(chan string, 1)
	if os.Getuid() == 0 {
		helper := ipctest.HelperBinary(t)
		go func() {
			squatter <- ipctest.RunAs(ipctest.OtherUID, helper, []string{squatEnv + "=" + ln.Addr().String()}, "-test.run=^TestHelperSquat$")
		}()
	} else {
		squatter <- "not root: no other user to try"
	}
	// Restart at least three times, and until the other user gives up.
	squat, restarts := "", 0
	for ; restarts < 3 || squat == ""; restarts++ {
		before := asked.Load()
		d.stop(t)
		d, logs = w.serveWith(activated, "--log-level", "debug")
		allLogs = append(allLogs, logs)
		for asked.Load() < before+20 {
			select {
			case <-time.After(10 * time.Millisecond):
			case <-d.exitedEarly():
				t.Fatal("the daemon stopped")
			}
		}
		select {
		case squat = <-squatter:
		default:
		}
	}
	cancel()
	wg.Wait()
	t.Logf("%d credential sequences over %d restarts, %d failed; the other user %s", asked.Load(), restarts, failed.Load(), strings.TrimSpace(squat))
	if strings.Contains(squat, "took") && !strings.Contains(squat, "never took") {
		t.Fatalf("another user took the port during a restart: %s", squat)
	}
	if failed.Load() > 0 {
		for _, l := range allLogs {
			t.Log(l.String())
		}
		t.Fatalf("%d of %d sequences failed across %d restarts; first: %v", failed.Load(), asked.Load(), restarts, firstFailure.Load())
	}
	if n := len(w.sts.Issued()); n != 1 {
		t.Fatalf("STS issued %d sessions: the restarts lost the session", n)
	}
}

// TestNoSharedNames: another user takes, first, every name mfad once used
// in the shared temporary directory (the socket directory's fallback, the
// daemon log of init). mfad runs regardless, without XDG_RUNTIME_DIR, and
// puts nothing there.
func TestNoSharedNames(t *testing.T) {
	ipctest.RequireRoot(t)
	w := newWorld(t)
	w.addKeys()
	shared := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o777|os.ModeSticky)
	squatted := []string{filepath.Join(shared, "mfad-"+strconv.Itoa(os.Getuid())), filepath.Join(shared, "mfad-init.log")}
	os.Mkdir(squatted[0], 0o777)
	os.WriteFile(squatted[1], nil, 0o666)
	for _, p := range squatted {
		os.Chown(p, ipctest.OtherUID, ipctest.OtherUID)
		os.Chmod(p, 0o777)
	}
	w.unsetEnv("XDG_RUNTIME_DIR")
	w.env = append(w.env, "TMPDIR="+shared)
	w.serve()
	w.mustMfad("unlock", "--code", w.freshCode())
	if st := w.mustMfad("status"); !regexp.MustCompile(`default\s+-\s+unlocked`).MatchString(st) {
		t.Fatalf("status:\n%s", st)
	}
	if _, err := os.Stat(filepath.Join(w.home, ".local", "state", "mfad", "run", "mfad.sock")); err != nil {
		t.Fatalf("the socket is not in the user's state directory: %v", err)
	}
	entries, _ := os.ReadDir(shared)
	if len(entries) != 2 {
		t.Fatalf("mfad put something in the shared directory: %v", entries)
	}
	if e, _ := os.ReadDir(squatted[0]); len(e) != 0 {
		t.Fatalf("mfad used the other user's directory: %v", e)
	}
}
