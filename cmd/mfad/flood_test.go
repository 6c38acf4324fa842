//go:build unix

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfad/mfad/ipc/ipctest"
)

// floodEnv makes a copy of this test binary flood the IMDS endpoint at
// host:port in it: as many connections as it can open for floodTime, each
// left holding half a request, at most floodMax in all.
const floodEnv = "MFAD_TEST_FLOOD"

const (
	floodTime = 6 * time.Second
	floodMax  = 40000
)

// TestHelperFlood is not a test: run by TestOtherUserCannotStarve as
// another user, it is the flood.
func TestHelperFlood(t *testing.T) {
	addr := os.Getenv(floodEnv)
	if addr == "" {
		return
	}
	var attempts, opened atomic.Int64
	deadline := time.Now().Add(floodTime)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []net.Conn
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && attempts.Add(1) <= floodMax {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					continue
				}
				opened.Add(1)
				// Half a request, never finished: what a slowloris sends.
				c.Write([]byte("GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: " + addr + "\r\n"))
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("flood: %d attempts, %d connections opened\n", min(attempts.Load(), floodMax), opened.Load())
	for _, c := range held {
		c.Close()
	}
}

// processFigures reads a process's resident memory (KiB) and open files.
func processFigures(pid int) (rssKiB, fds int) {
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rssKiB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return rssKiB, len(entries)
}

// TestOtherUserCannotStarve: another user floods the endpoint with
// connections left half-open while the user's own program keeps asking
// for credentials the way SDKs do (a new connection, a token, the
// credentials). Every one of the user's requests is answered, within the
// SDKs' own timeout (1 s); the daemon's memory and open files stay
// bounded, since it closes the other user's connections before reading
// them; and its log says so in a few lines, not one per connection.
func TestOtherUserCannotStarve(t *testing.T) {
	ipctest.RequireRoot(t)
	w := newWorld(t)
	w.addKeys()
	d, logs := w.serveLogged()
	w.mustMfad("unlock", "--code", w.freshCode())
	pid := d.cmd.Process.Pid
	addr := strings.TrimSuffix(strings.TrimPrefix(d.endpoint, "http://"), "/")
	rssBefore, fdsBefore := processFigures(pid)

	flooded := make(chan string, 1)
	helper := ipctest.HelperBinary(t)
	go func() {
		flooded <- ipctest.RunAs(ipctest.OtherUID, helper, []string{floodEnv + "=" + addr}, "-test.run=^TestHelperFlood$")
	}()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	var latencies []time.Duration
	failures := 0
	maxRSS, maxFDs := rssBefore, fdsBefore
	var floodOut string
	for done := false; !done; {
		select {
		case floodOut = <-flooded:
			done = true
		default:
		}
		start := time.Now()
		if err := sdkSequence(client, d.endpoint); err != nil {
			failures++
			t.Logf("own request failed: %v", err)
		}
		latencies = append(latencies, time.Since(start))
		rss, fds := processFigures(pid)
		maxRSS, maxFDs = max(maxRSS, rss), max(maxFDs, fds)
	}
	slices.Sort(latencies)
	p99 := latencies[len(latencies)*99/100]
	worst := latencies[len(latencies)-1]
	st := w.mustMfad("status", "--json")
	logLines := strings.Count(logs.String(), "refused connections")
	t.Logf("%s; own sequences: %d, failed %d, p99 %s, worst %s; daemon RSS %d → %d KiB max, open files %d → %d max; refusal log lines %d, log %d bytes",
		strings.TrimSpace(floodOut), len(latencies), failures, p99, worst, rssBefore, maxRSS, fdsBefore, maxFDs, logLines, len(logs.String()))
	if !strings.Contains(floodOut, "connections opened") {
		t.Fatalf("the flood did not run:\n%s", floodOut)
	}
	if failures > 0 || worst > time.Second {
		t.Errorf("the user's own requests: %d failed, the slowest took %s (SDKs give up after 1 s)", failures, worst)
	}
	if maxRSS > rssBefore+20<<10 || maxFDs > fdsBefore+64 {
		t.Errorf("the flood grew the daemon: RSS %d → %d KiB, open files %d → %d", rssBefore, maxRSS, fdsBefore, maxFDs)
	}
	if logLines == 0 || logLines > 5 || len(logs.String()) > 32<<10 {
		t.Errorf("refusals logged in %d lines, log %d bytes:\n%s", logLines, len(logs.String()), logs.String())
	}
	if strings.Contains(st, `"refused_other_user": 0`) {
		t.Errorf("refusals not counted: %s", st)
	}
}

// sdkSequence does what an SDK does for credentials, on a new connection.
func sdkSequence(client *http.Client, endpoint string) error {
	req, _ := http.NewRequest(http.MethodPut, endpoint+"latest/api/token", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	token, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("token: %s", resp.Status)
	}
	req, _ = http.NewRequest(http.MethodGet, endpoint+"latest/meta-data/iam/security-credentials/default", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token", string(token))
	resp, err = client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("credentials: %s", resp.Status)
	}
	return nil
}
