//go:build unix

package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/mfad/mfad/daemon/onboard"
	"github.com/mfad/mfad/daemon/ststest"
)

// initWorld is a machine where `mfad init` has everything to do: an IAM
// user with no MFA device, its key in ~/.aws/credentials, a config file
// with other content to keep.
type initWorld struct {
	*world
	carol       ststest.User
	creds, cfg  string
	configStart string
}

func newInitWorld(t *testing.T, user ststest.User) *initWorld {
	w := newWorld(t)
	w.sts.AddUser(user)
	iw := &initWorld{world: w, carol: user, creds: filepath.Join(w.home, "credentials"), cfg: filepath.Join(w.home, "aws-config")}
	w.unsetEnv("AWS_SHARED_CREDENTIALS_FILE")
	w.env = append(w.env, "AWS_SHARED_CREDENTIALS_FILE="+iw.creds, "AWS_ENDPOINT_URL_IAM="+w.sts.URL)
	writeFile(t, iw.creds, "[default]\naws_access_key_id = "+user.AccessKeyID+"\naws_secret_access_key = "+user.SecretAccessKey+"\n")
	iw.configStart = "# my settings\n[default]\nregion = eu-west-1\n\n[profile other]\nregion = us-east-2 ; keep me\n"
	writeFile(t, iw.cfg, iw.configStart)
	return iw
}

func code(seed string, at time.Time) string {
	c, err := totp.GenerateCode(seed, at)
	if err != nil {
		panic(err)
	}
	return c
}

// stopDaemon ends a daemon that init started in the background.
func (w *world) stopDaemon(t *testing.T) {
	t.Helper()
	res := w.mfad("", nil, "status", "--json")
	var st struct{ PID int }
	if json.Unmarshal([]byte(res.stdout), &st) == nil && st.PID > 0 {
		syscall.Kill(st.PID, syscall.SIGTERM)
	}
}

func TestInitFromScratch(t *testing.T) {
	w := newInitWorld(t, ststest.NewUser("123456789012", "carol").WithoutMFA())
	t.Cleanup(func() { w.stopDaemon(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mfadBin, "init", "--yes", "--listen", "127.0.0.1:0")
	cmd.Env = w.env
	stdin, _ := cmd.StdinPipe()
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The user scans the QR code and types two codes in a row, then a
	// third to unlock.
	serial := "arn:aws:iam::123456789012:mfa/carol"
	if err := w.sts.WaitFor(ctx, func() bool { return w.sts.DeviceSeed(serial) != "" }); err != nil {
		t.Fatalf("no device created: %v\n%s%s", err, &out, &errOut)
	}
	seed, now := w.sts.DeviceSeed(serial), time.Now()
	c1, c2 := code(seed, now), code(seed, now.Add(30*time.Second))
	io.WriteString(stdin, c1+"\n"+c2+"\n")
	if err := w.sts.WaitFor(ctx, func() bool { return len(w.sts.Mutations()) >= 2 }); err != nil {
		t.Fatalf("device not enabled: %v\n%s%s", err, &out, &errOut)
	}
	io.WriteString(stdin, w.unusedCode(func(at time.Time) string { return code(seed, at) }, map[string]bool{c1: true, c2: true})+"\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mfad init --yes: %v\n%s%s", err, &out, &errOut)
	}
	text := out.String()
	for _, want := range []string{
		"The key of profile default belongs to IAM user carol in account 123456789012.",
		"Enabled MFA device " + serial,
		"Wrote mfa_serial = " + serial + " to profile default",
		"MFA is enforced: MfaRequired is now carol's permissions boundary",
		"Checked: STS answers the MFA session as arn:aws:iam::123456789012:user/carol",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("init did not say %q:\n%s", want, text)
		}
	}
	if got, _ := os.ReadFile(w.cfg); string(got) != strings.Replace(w.configStart, "[default]\n", "[default]\nmfa_serial = "+serial+"\n", 1) {
		t.Errorf("config file:\n%s", got)
	}
	if got, _ := os.ReadFile(w.creds); strings.Contains(string(got), w.carol.SecretAccessKey) {
		t.Errorf("the key is still in the credentials file:\n%s", got)
	}
	arn, doc := w.sts.Boundary("carol")
	if arn != "arn:aws:iam::123456789012:policy/MfaRequired" || doc != onboard.BoundaryPolicy() {
		t.Errorf("boundary %s:\n%s", arn, doc)
	}
	mutations := w.sts.Mutations()
	if strings.Join(mutations, "\n") != "CreateVirtualMFADevice "+serial+"\nEnableMFADevice "+serial+"\nCreatePolicy "+arn+"\nPutUserPermissionsBoundary carol "+arn {
		t.Errorf("changes to the account:\n%s", strings.Join(mutations, "\n"))
	}

	// Again: nothing to do, nothing asked, nothing changed.
	res := w.mfad("", nil, "init", "--yes")
	if res.exit != 0 || !strings.Contains(res.stdout, "has MFA device "+serial) || !strings.Contains(res.stdout, "MFA is enforced: MfaRequired is carol's permissions boundary") {
		t.Fatalf("second init: %+v", res)
	}
	if again := w.sts.Mutations(); len(again) != len(mutations) {
		t.Fatalf("second init changed the account: %q", again[len(mutations):])
	}
	if got, _ := os.ReadFile(w.cfg); !strings.Contains(string(got), "region = us-east-2 ; keep me") {
		t.Errorf("config after the second init:\n%s", got)
	}
}

func TestInitErrors(t *testing.T) {
	withDevice := ststest.NewUser("123456789012", "dave")
	for _, tc := range []struct {
		name    string
		user    ststest.User
		arrange func(*initWorld)
		codes   bool // the flow gets as far as asking for codes
		message string
		hint    string
		changes []string // what the account may have changed
	}{
		{name: "root key", user: ststest.User{Account: "123456789012", AccessKeyID: withDevice.AccessKeyID, SecretAccessKey: withDevice.SecretAccessKey},
			message: "is the account's root key", hint: "create an IAM user"},
		{name: "no permission to create a device", user: ststest.NewUser("123456789012", "carol").WithoutMFA(),
			arrange: func(w *initWorld) {
				w.sts.IAMFault("CreateVirtualMFADevice", 403, "AccessDenied", "User: arn:aws:iam::123456789012:user/carol is not authorized to perform: iam:CreateVirtualMFADevice")
			},
			message: "could not create a virtual MFA device for carol: AccessDenied: User: arn:aws:iam::123456789012:user/carol is not authorized to perform: iam:CreateVirtualMFADevice",
			hint:    "iam:CreateVirtualMFADevice"},
		{name: "device limit", user: ststest.NewUser("123456789012", "carol").WithoutMFA(),
			arrange: func(w *initWorld) {
				w.sts.IAMFault("CreateVirtualMFADevice", 409, "LimitExceeded", "Cannot exceed quota for MFADevicesPerUser: 8")
			},
			message: "LimitExceeded: Cannot exceed quota for MFADevicesPerUser: 8", hint: "remove an MFA device you no longer use"},
		{name: "wrong codes", user: ststest.NewUser("123456789012", "carol").WithoutMFA(), codes: true,
			message: "could not enable the MFA device: InvalidAuthenticationCode", hint: "two codes in a row",
			changes: []string{"CreateVirtualMFADevice arn:aws:iam::123456789012:mfa/carol", "DeleteVirtualMFADevice arn:aws:iam::123456789012:mfa/carol"}},
		{name: "policy exists", user: withDevice,
			arrange: func(w *initWorld) {
				w.sts.AddPolicy("123456789012", "MfaRequired", `{"Version":"2012-10-17","Statement":[]}`)
			},
			message: "a policy named MfaRequired exists with another document; nothing was changed", hint: "--policy-name"},
		{name: "boundary already set", user: withDevice,
			arrange: func(w *initWorld) {
				w.sts.SetBoundary("dave", w.sts.AddPolicy("123456789012", "Corporate", `{}`))
			},
			message: "already has permissions boundary arn:aws:iam::123456789012:policy/Corporate; mfad does not replace it", hint: "add the MFA condition"},
		{name: "no permission to set the boundary", user: withDevice,
			arrange: func(w *initWorld) {
				w.sts.IAMFault("PutUserPermissionsBoundary", 403, "AccessDenied", "not authorized to perform: iam:PutUserPermissionsBoundary")
			},
			message: "could not make MfaRequired the permissions boundary of dave: AccessDenied", hint: "iam:PutUserPermissionsBoundary",
			changes: []string{"CreatePolicy arn:aws:iam::123456789012:policy/MfaRequired", "DeletePolicy arn:aws:iam::123456789012:policy/MfaRequired"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newInitWorld(t, tc.user)
			if tc.arrange != nil {
				tc.arrange(w)
			}
			stdin := ""
			if tc.codes {
				stdin = "000000\n111111\n"
			}
			res := w.mfad(stdin, nil, "init", "--yes")
			expectFailure(t, res, tc.message, tc.hint)
			if got := w.sts.Mutations(); strings.Join(got, "|") != strings.Join(tc.changes, "|") {
				t.Errorf("changes to the account: %q, want %q", got, tc.changes)
			}
			if got, _ := os.ReadFile(w.cfg); tc.user.MFASerial == "" && string(got) != w.configStart {
				t.Errorf("config file changed:\n%s", got)
			}
		})
	}
}
