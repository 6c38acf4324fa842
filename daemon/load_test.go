//go:build unix

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/mfad/mfad/imds"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfad/mfad/ipc"
)

// TestLoadWhileLockingAndUnlocking has 64 SDK-style clients fetch
// credentials for 20 s while the session is locked and unlocked again and
// again. Every answer must be whole: the session's credentials, or the
// locked error; never credentials of a session that was locked before the
// request began.
func TestLoadWhileLockingAndUnlocking(t *testing.T) {
	r := startUnlocked(t)
	ctl := &ipc.Client{Socket: r.socket}
	base := "http://" + r.addr

	type served struct {
		key   string
		start time.Time
	}
	var (
		mu       sync.Mutex
		lockedAt = map[string]time.Time{} // session key -> when its lock returned
		answers  []served                 // every credential answer, checked at the end
		answered atomic.Int64
		locked   atomic.Int64
		bad      atomic.Int64
		badFirst atomic.Value
	)
	fail := func(format string, args ...any) {
		if bad.Add(1) == 1 {
			badFirst.Store(fmt.Sprintf(format, args...))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for ctx.Err() == nil {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPut, base+"/latest/api/token", nil)
				req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "300")
				resp, err := client.Do(req)
				if err != nil {
					fail("token: %v", err)
					continue
				}
				tok, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				req, _ = http.NewRequest(http.MethodGet, base+"/latest/meta-data/iam/security-credentials/default", nil)
				req.Header.Set("X-Aws-Ec2-Metadata-Token", string(tok))
				resp, err = client.Do(req)
				if err != nil {
					fail("credentials: %v", err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var doc struct{ Code, AccessKeyId, SecretAccessKey, Token, Expiration, Message string }
				switch {
				case json.Unmarshal(body, &doc) != nil || (resp.StatusCode != 200) != (doc.Code != "Success"):
					// An error document comes with an error status
					// (imds.UnavailableStatus) for a client like this one.
					fail("malformed answer %d %q", resp.StatusCode, body)
				case doc.Code == "MFASessionLocked" && resp.StatusCode == imds.UnavailableStatus:
					locked.Add(1)
					if doc.AccessKeyId != "" || doc.Token != "" {
						fail("locked answer with credentials")
					}
				case doc.Code == "Success":
					if doc.AccessKeyId == "" || doc.SecretAccessKey == "" || doc.Token == "" || doc.Expiration == "" {
						fail("partial credentials %q", body)
					}
					mu.Lock()
					answers = append(answers, served{doc.AccessKeyId, start})
					mu.Unlock()
				default:
					fail("unexpected code %q", doc.Code)
				}
				answered.Add(1)
			}
		}()
	}

	// Lock, wait, unlock, wait. Each unlock needs a new code: the fake
	// STS's clock moves a 30 s step each time, and the code with it.
	pause := func() {
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	current := r.creds.AccessKeyID
	cycles := 0
	for step := time.Duration(1); ctx.Err() == nil; step++ {
		pause()
		if _, err := ctl.Lock(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		lockedAt[current] = time.Now()
		mu.Unlock()
		pause()
		shift := step * 30 * time.Second
		r.sts.SetClock(func() time.Time { return time.Now().Add(shift) })
		if _, err := ctl.Unlock(context.Background(), "", r.user.Code(time.Now().Add(shift))); err != nil {
			t.Fatalf("unlock %d: %v", step, err)
		}
		issued := r.sts.Issued()
		current = issued[len(issued)-1].AccessKeyID
		cycles++
	}
	wg.Wait()
	known := map[string]bool{}
	for _, c := range r.sts.Issued() {
		known[c.AccessKeyID] = true
	}
	for _, a := range answers {
		if !known[a.key] {
			fail("credentials STS never issued: %s", a.key)
		} else if at, ok := lockedAt[a.key]; ok && a.start.After(at) {
			fail("credentials of a session locked %s before the request began", a.start.Sub(at))
		}
	}
	t.Logf("%d answers, %d locked, %d lock/unlock cycles", answered.Load(), locked.Load(), cycles)
	if bad.Load() > 0 {
		t.Fatalf("%d bad answers; first: %s", bad.Load(), badFirst.Load())
	}
	if locked.Load() == 0 || answered.Load()-locked.Load() == 0 {
		t.Fatal("the load never saw both states")
	}
}
