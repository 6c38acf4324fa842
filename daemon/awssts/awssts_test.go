package awssts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/daemon/ststest"
	"github.com/mfad/mfad/ipc"
)

// setup starts a fake STS with one user and points the SDK at it through
// the standard environment variables.
func setup(t *testing.T) (*ststest.Server, ststest.User, *awsconfig.Profile) {
	t.Helper()
	user := ststest.NewUser("123456789012", "alice")
	srv := ststest.NewServer(user)
	t.Cleanup(srv.Close)
	ststest.Setenv(t, srv, "[default]\nregion = eu-west-1\nmfa_serial = "+user.MFASerial+"\n")
	p, err := awsconfig.Load(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	return srv, user, p
}

func request(p *awsconfig.Profile, id, secretKey, code string) SessionTokenRequest {
	return SessionTokenRequest{
		Profile:  p,
		Keys:     keystore.Keys{AccessKeyID: id, SecretAccessKey: secret.New(secretKey)},
		Code:     secret.New(code),
		Duration: 12 * time.Hour,
	}
}

func TestGetSessionToken(t *testing.T) {
	srv, user, p := setup(t)
	creds, err := (&Client{}).GetSessionToken(context.Background(), request(p, user.AccessKeyID, user.SecretAccessKey, user.Code(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	issued := srv.Issued()
	if len(issued) != 1 {
		t.Fatalf("issued %d sessions", len(issued))
	}
	if creds.AccessKeyID != issued[0].AccessKeyID || creds.SecretAccessKey.Reveal() != issued[0].SecretAccessKey ||
		creds.SessionToken.Reveal() != issued[0].SessionToken || !creds.Expiration.Equal(issued[0].Expiration) {
		t.Fatalf("credentials differ from what STS issued")
	}
	if d := time.Until(creds.Expiration); d < 11*time.Hour || d > 12*time.Hour {
		t.Errorf("session lasts %s, want 12h", d)
	}
}

func TestAdvice(t *testing.T) {
	for _, tc := range []struct {
		name     string
		arrange  func(srv *ststest.Server, u *ststest.User, p *awsconfig.Profile)
		kind     string
		message  string
		hint     string
		maxCalls int
		timeout  time.Duration // the client's; 10 s if zero
	}{
		{name: "wrong code",
			arrange: func(_ *ststest.Server, u *ststest.User, _ *awsconfig.Profile) {
				u.Seed = ststest.NewUser("1", "x").Seed
			},
			kind: ipc.KindInvalidCode, message: "wrong, expired, or was already used", hint: "wait for your authenticator to show the next code"},
		{name: "wrong serial",
			arrange: func(_ *ststest.Server, _ *ststest.User, p *awsconfig.Profile) {
				p.MFASerial = "arn:aws:iam::123456789012:mfa/bob"
			},
			kind: ipc.KindSTS, message: "could not check the code against mfa_serial arn:aws:iam::123456789012:mfa/bob", hint: "set mfa_serial"},
		{name: "deleted key",
			arrange: func(_ *ststest.Server, u *ststest.User, _ *awsconfig.Profile) { u.AccessKeyID = "AKIAZZZZZZZZZZZZZZZZ" },
			kind:    ipc.KindSTS, message: "does not know access key ****************ZZZZ", hint: "create a new access key"},
		{name: "wrong secret",
			arrange: func(_ *ststest.Server, u *ststest.User, _ *awsconfig.Profile) {
				u.SecretAccessKey = strings.Repeat("x", 40)
			},
			kind: ipc.KindSTS, message: "refused the secret access key", hint: "mfad add --force default"},
		{name: "clock behind",
			arrange: func(srv *ststest.Server, _ *ststest.User, _ *awsconfig.Profile) {
				srv.SetClock(func() time.Time { return time.Now().Add(30 * time.Minute) })
			},
			kind: ipc.KindSTS, message: "clock is wrong (30m0s behind AWS)", hint: "timedatectl"},
		{name: "throttled",
			arrange: func(srv *ststest.Server, _ *ststest.User, _ *awsconfig.Profile) { srv.SetFault(ststest.Throttle) },
			kind:    ipc.KindSTS, message: "throttling", hint: "wait a minute", maxCalls: 1},
		{name: "internal error, no retry",
			arrange: func(srv *ststest.Server, _ *ststest.User, _ *awsconfig.Profile) { srv.SetFault(ststest.InternalError) },
			kind:    ipc.KindSTS, message: "InternalFailure", maxCalls: 1},
		{name: "dropped connection, no retry",
			arrange: func(srv *ststest.Server, _ *ststest.User, _ *awsconfig.Profile) { srv.SetFault(ststest.DropConnection) },
			kind:    ipc.KindSTS, message: "STS", maxCalls: 1},
		{name: "garbage",
			arrange: func(srv *ststest.Server, _ *ststest.User, _ *awsconfig.Profile) { srv.SetFault(ststest.Garbage) },
			kind:    ipc.KindSTS, message: "STS", maxCalls: 1},
		{name: "slow",
			arrange: func(srv *ststest.Server, _ *ststest.User, _ *awsconfig.Profile) { srv.SetDelay(5 * time.Second) },
			kind:    ipc.KindSTS, message: "did not answer within 300ms", hint: "network", maxCalls: 1, timeout: 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, user, p := setup(t)
			tc.arrange(srv, &user, p)
			// A tight timeout only where it is the case: the fake STS
			// checks a signature and answers in milliseconds, but under
			// -race on a slow machine 300 ms has not always been enough.
			timeout := 10 * time.Second
			if tc.timeout > 0 {
				timeout = tc.timeout
			}
			client := &Client{Timeout: timeout}
			_, err := client.GetSessionToken(context.Background(), request(p, user.AccessKeyID, user.SecretAccessKey, user.Code(time.Now())))
			var e *ipc.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not advice", err)
			}
			if e.Kind != tc.kind || !strings.Contains(e.Message, tc.message) || !strings.Contains(e.Hint, tc.hint) {
				t.Fatalf("got kind %q message %q hint %q", e.Kind, e.Message, e.Hint)
			}
			if strings.Contains(e.Message+e.Hint, user.SecretAccessKey) {
				t.Fatal("advice repeats the secret")
			}
			if tc.maxCalls > 0 && len(srv.Calls()) > tc.maxCalls {
				t.Fatalf("STS called %d times: the code was sent again", len(srv.Calls()))
			}
		})
	}
}
