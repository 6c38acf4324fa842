package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/awssts"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/daemon/ststest"
	"github.com/mfad/mfad/ipc"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	m     *Manager
	sts   *ststest.Server
	user  ststest.User
	clock *clock
}

func setup(t *testing.T) *fixture {
	t.Helper()
	user := ststest.NewUser("123456789012", "alice")
	srv := ststest.NewServer(user)
	t.Cleanup(srv.Close)
	ststest.Setenv(t, srv, "[default]\nregion = eu-west-1\nmfa_serial = "+user.MFASerial+"\n"+
		"[profile nomfa]\nregion = eu-west-1\n[profile nokeys]\nmfa_serial = "+user.MFASerial+"\n")
	keys := keystore.Keys{AccessKeyID: user.AccessKeyID, SecretAccessKey: secret.New(user.SecretAccessKey)}
	c := &clock{t: time.Now()}
	m := New(Options{Keys: keystore.Fixed{"default": keys, "nomfa": keys}, STS: &awssts.Client{}, Now: c.now})
	return &fixture{m: m, sts: srv, user: user, clock: c}
}

func kind(err error) string {
	var e *ipc.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func TestUnlockServeLock(t *testing.T) {
	f := setup(t)
	if _, err := f.m.Credentials("default"); !errors.As(err, new(*LockedError)) {
		t.Fatalf("before unlock: %v", err)
	}
	code := f.user.Code(time.Now())
	creds, err := f.m.Unlock(context.Background(), "default", secret.New(code))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.sts.Issued()[0].AccessKeyID; creds.AccessKeyID != got {
		t.Fatalf("unlock returned %s, STS issued %s", creds.AccessKeyID, got)
	}
	served, err := f.m.Credentials("default")
	if err != nil || served.AccessKeyID != creds.AccessKeyID {
		t.Fatalf("served %v, %v", served.AccessKeyID, err)
	}
	st := f.m.Status()
	if len(st) != 3 || st[0].Name != "default" || st[0].State != ipc.StateUnlocked || st[0].Expiration != creds.Expiration.UTC().Format(time.RFC3339) {
		t.Fatalf("status %+v", st)
	}

	// The same code again is refused here; STS never sees it twice.
	_, err = f.m.Unlock(context.Background(), "default", secret.New(code))
	if kind(err) != ipc.KindCodeUsed {
		t.Fatalf("reused code: %v", err)
	}
	if n := len(f.sts.Calls()); n != 1 {
		t.Fatalf("STS saw %d calls, want 1", n)
	}
	// The failed attempt did not lock the live session.
	if _, err := f.m.Credentials("default"); err != nil {
		t.Fatalf("session lost after a refused code: %v", err)
	}

	if was, err := f.m.Lock("default"); !was || err != nil {
		t.Fatalf("Lock: %v, %v", was, err)
	}
	if _, err := f.m.Credentials("default"); !errors.As(err, new(*LockedError)) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("after lock: %v", err)
	}
	if was, _ := f.m.Lock("default"); was {
		t.Fatal("second Lock reported a session")
	}
}

func TestSessionExpiresByWallClock(t *testing.T) {
	f := setup(t)
	creds, err := f.m.Unlock(context.Background(), "default", secret.New(f.user.Code(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	// The machine sleeps past the expiry: no timer fires, the next
	// request finds the session over.
	f.clock.add(time.Until(creds.Expiration) + time.Second)
	_, err = f.m.Credentials("default")
	var locked *LockedError
	if !errors.As(err, &locked) || !locked.Expired.Equal(creds.Expiration) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after expiry: %v", err)
	}
	if st := f.m.Status(); st[0].State != ipc.StateLocked || st[0].Expiration != "" {
		t.Fatalf("status after expiry %+v", st)
	}
}

func TestUnlockRefusals(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		profile, code, kind string
	}{
		{"default", "12345", ipc.KindInvalidCode},
		{"default", "abcdef", ipc.KindInvalidCode},
		{"nomfa", "123456", ipc.KindNoMFASerial},
		{"nokeys", "123456", ipc.KindNoKeys},
		{"missing", "123456", ipc.KindProfileNotFound},
	} {
		_, err := f.m.Unlock(context.Background(), tc.profile, secret.New(tc.code))
		if kind(err) != tc.kind {
			t.Errorf("%s %s: %v, want %s", tc.profile, tc.code, err, tc.kind)
		}
	}
	if n := len(f.sts.Calls()); n != 0 {
		t.Fatalf("STS called %d times for requests that could not succeed", n)
	}
	for _, st := range f.m.Status() {
		if st.LastError == "" {
			t.Errorf("%s: no last error recorded", st.Name)
		}
	}
}

// TestCredentialsNeverWaitForSTS reads credentials while an unlock is stuck
// on a slow STS.
func TestCredentialsNeverWaitForSTS(t *testing.T) {
	f := setup(t)
	if _, err := f.m.Unlock(context.Background(), "default", secret.New(f.user.Code(time.Now()))); err != nil {
		t.Fatal(err)
	}
	f.sts.SetDelay(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := f.m.Unlock(ctx, "default", secret.New(f.user.Code(time.Now().Add(30*time.Second))))
		done <- err
	}()
	if err := f.sts.WaitForCalls(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Credentials("default"); err != nil {
		t.Fatalf("credentials during a pending unlock: %v", err)
	}
	_ = f.m.Status()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled unlock succeeded")
	}
}

func TestUnlockRateLimit(t *testing.T) {
	f := setup(t)
	wrong := func(i int) string { return fmt.Sprintf("%06d", (i*7919+13)%1000000) }
	for i := range unlockBurst {
		if _, err := f.m.Unlock(context.Background(), "default", secret.New(wrong(i))); kind(err) != ipc.KindInvalidCode {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, err := f.m.Unlock(context.Background(), "default", secret.New(wrong(unlockBurst)))
	var e *ipc.Error
	if !errors.As(err, &e) || e.Kind != ipc.KindBusy || !strings.Contains(e.Hint, "wait 6s") {
		t.Fatalf("attempt past the burst: %v", err)
	}
	if n := len(f.sts.Calls()); n != unlockBurst {
		t.Fatalf("STS saw %d calls, want %d", n, unlockBurst)
	}
	f.clock.add(unlockInterval)
	if _, err := f.m.Unlock(context.Background(), "default", secret.New(f.user.Code(time.Now()))); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
}

func TestSessionDuration(t *testing.T) {
	user := ststest.NewUser("123456789012", "alice")
	srv := ststest.NewServer(user)
	t.Cleanup(srv.Close)
	ststest.Setenv(t, srv, "[default]\nmfa_serial = "+user.MFASerial+"\nduration_seconds = 3600\n"+
		"[profile short]\nmfa_serial = "+user.MFASerial+"\nduration_seconds = 60\n"+
		"[profile long]\nmfa_serial = "+user.MFASerial+"\nduration_seconds = 200000\n")
	keys := keystore.Keys{AccessKeyID: user.AccessKeyID, SecretAccessKey: secret.New(user.SecretAccessKey)}
	m := New(Options{Keys: keystore.Fixed{"default": keys, "short": keys, "long": keys}, STS: &awssts.Client{}})
	for _, p := range []string{"short", "long"} {
		_, err := m.Unlock(context.Background(), p, secret.New(user.Code(time.Now())))
		if kind(err) != ipc.KindBadRequest || !strings.Contains(err.Error(), "900 to 129600") {
			t.Errorf("%s: %v", p, err)
		}
	}
	if n := len(srv.Calls()); n != 0 {
		t.Fatalf("STS called %d times for invalid durations", n)
	}
	creds, err := m.Unlock(context.Background(), "default", secret.New(user.Code(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(creds.Expiration); d > time.Hour || d < 59*time.Minute {
		t.Fatalf("session lasts %s, want the profile's hour", d)
	}
}

func TestConcurrentUnlocksShareOneCall(t *testing.T) {
	f := setup(t)
	// Long enough for the second caller to arrive while the first waits.
	f.sts.SetDelay(time.Second)
	type outcome struct {
		creds awssts.Credentials
		err   error
	}
	first, second := make(chan outcome, 1), make(chan outcome, 1)
	go func() {
		c, err := f.m.Unlock(context.Background(), "default", secret.New(f.user.Code(time.Now())))
		first <- outcome{c, err}
	}()
	if err := f.sts.WaitForCalls(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := f.m.Unlock(context.Background(), "default", secret.New(f.user.Code(time.Now().Add(30*time.Second))))
		second <- outcome{c, err}
	}()
	a, b := <-first, <-second
	if a.err != nil || b.err != nil || a.creds.AccessKeyID != b.creds.AccessKeyID {
		t.Fatalf("outcomes differ: %v / %v, %s / %s", a.err, b.err, a.creds.AccessKeyID, b.creds.AccessKeyID)
	}
	if n := len(f.sts.Calls()); n != 1 {
		t.Fatalf("STS saw %d calls, want 1", n)
	}
}

// TestLastMinuteNotServed: in its last minute a session is not handed out
// (the AWS SDK for JavaScript v2 hangs on credentials that end within 15
// seconds), and the error says it is ending, not that it has ended.
func TestLastMinuteNotServed(t *testing.T) {
	f := setup(t)
	creds, err := f.m.Unlock(context.Background(), "default", secret.New(f.user.Code(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.add(time.Until(creds.Expiration) - LastServed - time.Second)
	if _, err := f.m.Credentials("default"); err != nil {
		t.Fatalf("61 s before the end: %v", err)
	}
	f.clock.add(2 * time.Second)
	_, err = f.m.Credentials("default")
	var locked *LockedError
	if !errors.As(err, &locked) || !strings.Contains(err.Error(), "ends at") || !strings.Contains(err.Error(), "in less than a minute") {
		t.Fatalf("59 s before the end: %v", err)
	}
}

// slowCache is a session cache whose Sessions waits to be let go.
type slowCache struct {
	mu       sync.Mutex
	kept     map[string]keystore.CachedSession
	reading  chan struct{} // closed when Sessions has read
	letGo    chan struct{}
	readOnce sync.Once
}

func (c *slowCache) PutSession(p string, s keystore.CachedSession) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kept[p] = s
	return nil
}

func (c *slowCache) Sessions() (map[string]keystore.CachedSession, error) {
	c.mu.Lock()
	out := map[string]keystore.CachedSession{}
	for p, s := range c.kept {
		out[p] = s
	}
	c.mu.Unlock()
	c.readOnce.Do(func() { close(c.reading) })
	<-c.letGo
	return out, nil
}

func (c *slowCache) RemoveSession(p string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.kept, p)
	return nil
}

// TestLockDuringRestore: the keyring's sessions are restored while the
// daemon serves; a lock that comes while Restore has read a session and
// not yet merged it must win: the session stays locked, in memory and in
// the cache.
func TestLockDuringRestore(t *testing.T) {
	f := setup(t)
	cache := &slowCache{kept: map[string]keystore.CachedSession{"default": {
		AccessKeyID: "ASIAKEPT", SecretAccessKey: secret.New("s"), SessionToken: secret.New("t"),
		Expiration: f.clock.now().Add(time.Hour), ObtainedAt: f.clock.now().Add(-time.Minute),
	}}, reading: make(chan struct{}), letGo: make(chan struct{})}
	f.m.opts.Cache = cache
	restored := make(chan []string)
	go func() {
		r, _ := f.m.Restore()
		restored <- r
	}()
	<-cache.reading
	locked := make(chan error, 1)
	go func() {
		_, err := f.m.Lock("default")
		locked <- err
	}()
	// Give the lock every chance to finish first: it must wait instead.
	var lockErr error
	select {
	case lockErr = <-locked:
		locked <- lockErr
	case <-time.After(200 * time.Millisecond):
	}
	close(cache.letGo)
	<-restored
	if err := <-locked; err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Credentials("default"); err == nil {
		t.Fatal("a session restored during the lock is served")
	}
	if len(cache.kept) != 0 {
		t.Fatalf("the cache still keeps %v", cache.kept)
	}
}
