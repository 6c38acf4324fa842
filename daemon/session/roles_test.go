package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/awssts"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/daemon/ststest"
	"github.com/mfad/mfad/ipc"
)

type rolesFixture struct {
	m          *Manager
	sts        *ststest.Server
	alice, bob ststest.User
	clock      *clock
}

func setupRoles(t *testing.T) *rolesFixture {
	t.Helper()
	alice := ststest.NewUser("111111111111", "alice")
	bob := ststest.NewUser("111111111111", "bob")
	srv := ststest.NewServer(alice, bob)
	t.Cleanup(srv.Close)
	srv.AddRole(ststest.Role{ARN: "arn:aws:iam::222222222222:role/admin", RequireMFA: true})
	srv.AddRole(ststest.Role{ARN: "arn:aws:iam::333333333333:role/partner", ExternalID: "xyz", RequireMFA: true})
	srv.AddRole(ststest.Role{ARN: "arn:aws:iam::444444444444:role/audit", RequireMFA: true})
	srv.AddRole(ststest.Role{ARN: "arn:aws:iam::555555555555:role/forbidden", Deny: true})
	ststest.Setenv(t, srv, `[profile hub]
region = eu-west-1
mfa_serial = `+alice.MFASerial+`

[profile prod]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = hub
mfa_serial = `+alice.MFASerial+`

[profile partner]
role_arn = arn:aws:iam::333333333333:role/partner
source_profile = hub
external_id = xyz

[profile audit]
role_arn = arn:aws:iam::444444444444:role/audit
source_profile = prod

[profile forbidden]
role_arn = arn:aws:iam::555555555555:role/forbidden
source_profile = hub

[profile bob]
mfa_serial = `+bob.MFASerial+`

[profile nokeys]
mfa_serial = arn:aws:iam::111111111111:mfa/carol

[profile nokeys-role]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = nokeys
`)
	c := &clock{t: time.Now()}
	keys := keystore.Fixed{
		"hub": {AccessKeyID: alice.AccessKeyID, SecretAccessKey: secret.New(alice.SecretAccessKey)},
		"bob": {AccessKeyID: bob.AccessKeyID, SecretAccessKey: secret.New(bob.SecretAccessKey)},
	}
	m := New(Options{Keys: keys, STS: &awssts.Client{}, Now: c.now})
	m.Refresh(context.Background())
	return &rolesFixture{m: m, sts: srv, alice: alice, bob: bob, clock: c}
}

// assumedBy returns the AssumeRole sessions the fake STS issued for role.
func (f *rolesFixture) assumed(role string) []ststest.Credentials {
	var out []ststest.Credentials
	for _, c := range f.sts.Issued() {
		if strings.HasSuffix(c.Role, ":role/"+role) {
			out = append(out, c)
		}
	}
	return out
}

func TestOneCodeUnlocksEveryRole(t *testing.T) {
	f := setupRoles(t)
	ctx := context.Background()
	if _, err := f.m.Unlock(ctx, "hub", secret.New(f.alice.Code(time.Now()))); err != nil {
		t.Fatal(err)
	}
	mfa := f.sts.Issued()[0]
	for _, tc := range []struct{ profile, role, caller string }{
		{"prod", "admin", mfa.AccessKeyID},
		{"partner", "partner", mfa.AccessKeyID},
	} {
		s, err := f.m.Credentials(tc.profile)
		if err != nil {
			t.Fatalf("%s: %v", tc.profile, err)
		}
		got := f.assumed(tc.role)
		if len(got) != 1 || got[0].AccessKeyID != s.AccessKeyID || got[0].Caller != tc.caller || !got[0].MFA {
			t.Fatalf("%s: served %s; STS issued %+v", tc.profile, s.AccessKeyID, got)
		}
	}
	// A chain: audit is assumed with prod's credentials.
	audit, err := f.m.Credentials("audit")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.assumed("audit"); len(got) != 1 || got[0].Caller != f.assumed("admin")[0].AccessKeyID || got[0].AccessKeyID != audit.AccessKeyID {
		t.Fatalf("audit: %+v", got)
	}
	// The other IAM user stays locked; a denied role says why.
	if _, err := f.m.Credentials("bob"); !errors.As(err, new(*LockedError)) {
		t.Fatalf("bob: %v", err)
	}
	var pending *PendingError
	if _, err := f.m.Credentials("forbidden"); !errors.As(err, &pending) || !strings.Contains(err.Error(), "AWS refused to let profile forbidden assume") {
		t.Fatalf("forbidden: %v", err)
	}
	if n := countAction(f.sts, "GetSessionToken"); n != 1 {
		t.Fatalf("%d GetSessionToken calls, want 1", n)
	}
	states := map[string]string{}
	for _, st := range f.m.Status() {
		states[st.Name] = st.State + "/" + st.Source
	}
	want := map[string]string{"hub": "unlocked/", "prod": "unlocked/hub", "partner": "unlocked/hub", "audit": "unlocked/hub", "forbidden": "pending/hub", "nokeys-role": "locked/nokeys"}
	for name, w := range want {
		if states[name] != w {
			t.Errorf("status of %s: %s, want %s", name, states[name], w)
		}
	}

	// Locking a role profile locks its IAM user, and every role with it.
	if was, err := f.m.Lock("partner"); !was || err != nil {
		t.Fatalf("lock: %v %v", was, err)
	}
	for _, p := range []string{"hub", "prod", "partner", "audit"} {
		if _, err := f.m.Credentials(p); !errors.As(err, new(*LockedError)) {
			t.Errorf("%s after lock: %v", p, err)
		}
	}
	// Unlocking through a role profile unlocks its IAM user.
	if _, err := f.m.Unlock(ctx, "prod", secret.New(f.alice.Code(time.Now().Add(30*time.Second)))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Credentials("partner"); err != nil {
		t.Fatalf("partner after unlocking prod: %v", err)
	}
	if _, err := f.m.Unlock(ctx, "forbidden", secret.New(f.alice.Code(time.Now().Add(-30*time.Second)))); err == nil || !strings.Contains(err.Error(), "trust policy") && !strings.Contains(err.Error(), "refused") {
		t.Fatalf("unlock through a denied role: %v", err)
	}
}

func TestRoleErrors(t *testing.T) {
	f := setupRoles(t)
	_, err := f.m.Unlock(context.Background(), "nokeys-role", secret.New("123456"))
	if kind(err) != ipc.KindNoKeys || !strings.Contains(err.Error(), "profile nokeys") {
		t.Fatalf("role on a user without keys: %v", err)
	}
	if _, err := f.m.Unlock(context.Background(), "ghost", secret.New("123456")); kind(err) != ipc.KindProfileNotFound {
		t.Fatalf("missing profile: %v", err)
	}
}

func TestRolesRenewWithoutCode(t *testing.T) {
	f := setupRoles(t)
	ctx := context.Background()
	if _, err := f.m.Unlock(ctx, "hub", secret.New(f.alice.Code(time.Now()))); err != nil {
		t.Fatal(err)
	}
	first, _ := f.m.Credentials("prod")
	mfa := f.sts.Issued()[0].AccessKeyID

	// 30 minutes on, the role (one hour) has enough left: nothing to do.
	f.clock.add(30 * time.Minute)
	f.m.Maintain(ctx)
	if got, _ := f.m.Credentials("prod"); got.AccessKeyID != first.AccessKeyID {
		t.Fatal("renewed too early")
	}
	// 45 minutes on, 15 left: renewed with the same MFA session, no code.
	f.clock.add(15 * time.Minute)
	f.m.Maintain(ctx)
	renewed, err := f.m.Credentials("prod")
	if err != nil || renewed.AccessKeyID == first.AccessKeyID {
		t.Fatalf("not renewed: %v", err)
	}
	admins := f.assumed("admin")
	if last := admins[len(admins)-1]; last.AccessKeyID != renewed.AccessKeyID || last.Caller != mfa {
		t.Fatalf("renewal %+v", last)
	}
	if n := countAction(f.sts, "GetSessionToken"); n != 1 {
		t.Fatalf("%d GetSessionToken calls: a code was needed", n)
	}
	// Past the MFA session's end: no more renewals, and nothing served.
	f.clock.add(12 * time.Hour)
	calls := len(f.sts.Calls())
	f.m.Maintain(ctx)
	if len(f.sts.Calls()) != calls {
		t.Fatal("renewed after the MFA session ended")
	}
	var locked *LockedError
	if _, err := f.m.Credentials("prod"); !errors.As(err, &locked) || locked.Expired.IsZero() {
		t.Fatalf("after the MFA session: %v", err)
	}
}

func countAction(srv *ststest.Server, action string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Action == action {
			n++
		}
	}
	return n
}
