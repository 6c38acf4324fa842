package keystore

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/secret"
)

// TestKernelSessions: sessions kept in the kernel's keyring come back
// whole, per daemon (state directory), never once ended, and are gone
// when removed.
func TestKernelSessions(t *testing.T) {
	a, b := NewKernelSessions(t.TempDir()), NewKernelSessions(t.TempDir())
	t.Cleanup(func() {
		for _, k := range []*KernelSessions{a, b} {
			for _, p := range []string{"default", "work", "ended"} {
				k.RemoveSession(p)
			}
		}
	})
	live := CachedSession{AccessKeyID: "ASIALIVE", SecretAccessKey: secret.New("s3cret"), SessionToken: secret.New("tok"),
		Expiration: time.Now().Add(time.Hour).Round(time.Second), ObtainedAt: time.Now().Round(time.Second), AccountID: "123456789012", MFASerial: "arn:aws:iam::123456789012:mfa/a"}
	ended := live
	ended.Expiration = time.Now().Add(-time.Second)
	if err := a.PutSession("default", live); errors.Is(err, ErrUnsupported) {
		// A container whose seccomp profile refuses keyctl: every method
		// must say so, for the daemon to go on without. CI's machine
		// allows keyctl: there this must not happen.
		if os.Getenv("CI") != "" {
			t.Fatalf("the kernel's keyrings are refused on the CI machine: %v", err)
		}
		t.Logf("the kernel's keyrings are refused here: %v", err)
		if _, err := a.Sessions(); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Sessions: %v", err)
		}
		if err := a.RemoveSession("default"); !errors.Is(err, ErrUnsupported) && err != nil {
			t.Fatalf("RemoveSession: %v", err)
		}
		return
	}
	for p, c := range map[string]CachedSession{"default": live, "work": live, "ended": ended} {
		if err := a.PutSession(p, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["default"].SecretAccessKey.Reveal() != "s3cret" || got["work"].SessionToken.Reveal() != "tok" ||
		!got["default"].Expiration.Equal(live.Expiration) || got["default"].MFASerial != live.MFASerial {
		t.Fatalf("kept %+v", got)
	}
	if other, err := b.Sessions(); err != nil || len(other) != 0 {
		t.Fatalf("another daemon's cache holds %v, %v", other, err)
	}
	if err := a.RemoveSession("default"); err != nil {
		t.Fatal(err)
	}
	if err := a.RemoveSession("never kept"); err != nil {
		t.Fatal(err)
	}
	got, _ = a.Sessions()
	if _, ok := got["default"]; ok || len(got) != 1 {
		t.Fatalf("after remove: %v", got)
	}
	a.RemoveSession("work")
	if data, err := kernelRead(a.desc); err != nil || data != nil {
		t.Fatalf("the key outlived its last session: %q, %v", data, err)
	}
}
