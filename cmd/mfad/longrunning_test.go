//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/session"
)

// longRunningClient is a client run as a program that keeps running: it
// asks for credentials, waits for a line on stdin, then asks the same
// credentials object again (MFAD_CLIENT_AGAIN).
type longRunningClient struct {
	name string
	argv func(t *testing.T) []string
}

func longRunningClients() []longRunningClient {
	js := func(mode string) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			return []string{"node", filepath.Join(clientsDir(t), "js2_client.cjs"), mode}
		}
	}
	return []longRunningClient{
		{"aws-sdk-js-v2, one EC2MetadataCredentials", js("imds")},
		{"aws-sdk-js-v2, default chain", js("chain")},
		{"aws-sdk-go v1, default chain", func(t *testing.T) []string { return []string{goV1Client(t), "chain"} }},
	}
}

// runningClient is a long-running client, started.
type runningClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
}

// start starts c with env; its first answer is then on its way.
func (c longRunningClient) start(t *testing.T, env []string) *runningClient {
	t.Helper()
	argv := c.argv(t)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(env, "MFAD_CLIENT_AGAIN=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &runningClient{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
}

// answer waits for the client's next answer.
func (r *runningClient) answer() clientResult {
	var res clientResult
	if !r.lines.Scan() {
		res.Err = "the client exited without an answer"
		return res
	}
	if err := json.Unmarshal(r.lines.Bytes(), &res); err != nil {
		res.Err = "not an answer: " + r.lines.Text()
	}
	return res
}

// again lets the client ask a second time and returns that answer.
func (r *runningClient) again() clientResult {
	io.WriteString(r.stdin, "\n")
	r.stdin.Close()
	return r.answer()
}

const hung = "no answer: the SDK never called back (a program would hang)"

// TestLongRunningClientsFollowTheSession: a program that asked while the
// session was locked fails at once, then gets the session on its next call
// after `mfad unlock`, without a restart; a program that had credentials
// when the session ended fails on its next call instead of hanging or
// keeping them. The AWS SDK for JavaScript v2 hung in both cases when the
// locked answer was a 200.
func TestLongRunningClientsFollowTheSession(t *testing.T) {
	w := newWorld(t)
	w.addKeys()
	d := w.serve()
	env := w.clientEnvFor(filepath.Join(w.home, "aws-config"), d.endpoint)
	clients := longRunningClients()

	// Asked while locked, asked again after unlock.
	running := make([]*runningClient, len(clients))
	for i, c := range clients {
		start := time.Now()
		running[i] = c.start(t, env)
		locked := running[i].answer()
		if locked.Key != "" || locked.Err == "" || locked.Err == hung {
			t.Errorf("%s, while locked: %+v", c.name, locked)
		}
		t.Logf("%s failed after %s while locked: %s", c.name, time.Since(start).Round(10*time.Millisecond), locked.Err)
	}
	// A session with a few seconds to go before its last minute, which is
	// not served (session.LastServed).
	w.sts.SetSessionLifetime(session.LastServed + 5*time.Second)
	w.mustMfad("unlock", "--code", w.freshCode())
	s := w.sts.Issued()[len(w.sts.Issued())-1]
	for i, c := range clients {
		if unlocked := running[i].again(); !unlocked.got(s.AccessKeyID, s.SecretAccessKey, s.SessionToken) {
			t.Errorf("%s, the same program after unlock: %+v", c.name, unlocked)
		}
	}

	// Had the credentials, asked again once the session ended.
	for i, c := range clients {
		running[i] = c.start(t, env)
		if had := running[i].answer(); !had.got(s.AccessKeyID, s.SecretAccessKey, s.SessionToken) {
			t.Errorf("%s, before the end: %+v", c.name, had)
		}
	}
	<-time.After(time.Until(s.Expiration) + 100*time.Millisecond)
	for i, c := range clients {
		if after := running[i].again(); after.Key != "" || after.Err == "" || after.Err == hung {
			t.Errorf("%s, after the session ended: %+v", c.name, after)
		}
	}
}
