//go:build unix

package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mfad/mfad/daemon/ststest"
)

// TestRolesEndToEnd: one IAM user in a hub account with two roles (one
// with an external ID) and a second IAM user. One unlock of the first user
// serves both roles through their own endpoints at once, to Go and to
// botocore, by `eval "$(mfad env --profile …)"` and by `mfad exec`; the
// second user stays locked.
func TestRolesEndToEnd(t *testing.T) {
	w := newWorld(t)
	bob := ststest.NewUser("111111111111", "bob")
	w.sts.AddUser(bob)
	w.sts.AddRole(ststest.Role{ARN: "arn:aws:iam::222222222222:role/admin", RequireMFA: true})
	w.sts.AddRole(ststest.Role{ARN: "arn:aws:iam::333333333333:role/partner", ExternalID: "xyz", RequireMFA: true})
	w.sts.AddRole(ststest.Role{ARN: "arn:aws:iam::555555555555:role/forbidden", Deny: true})
	writeFile(t, filepath.Join(w.home, "aws-config"), `[profile hub]
region = eu-west-1
mfa_serial = `+w.user.MFASerial+`

[profile prod]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = hub
region = us-east-2

[profile partner]
role_arn = arn:aws:iam::333333333333:role/partner
source_profile = hub
external_id = xyz

[profile forbidden]
role_arn = arn:aws:iam::555555555555:role/forbidden
source_profile = hub

[profile bob]
region = eu-west-1
mfa_serial = `+bob.MFASerial+`

[profile bob-admin]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = bob

[profile carol-admin]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = carol

[profile carol]
mfa_serial = arn:aws:iam::111111111111:mfa/carol
`)
	for profile, u := range map[string]ststest.User{"hub": w.user, "bob": bob} {
		if res := w.mfad("", []string{"AWS_ACCESS_KEY_ID=" + u.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + u.SecretAccessKey}, "add", "--env", profile); res.exit != 0 {
			t.Fatalf("add %s: %+v", profile, res)
		}
	}
	w.serve("--profile", "hub")
	w.mustMfad("unlock", "--code", w.freshCode())
	mfa := w.sts.Issued()[0].AccessKeyID
	roleKey := func(role string) string {
		t.Helper()
		for _, c := range w.sts.Issued() {
			if strings.HasSuffix(c.Role, ":role/"+role) {
				if c.Caller != mfa {
					t.Errorf("role %s assumed with %s, not the MFA session %s", role, c.Caller, mfa)
				}
				return c.AccessKeyID
			}
		}
		t.Fatalf("role %s was never assumed", role)
		return ""
	}

	// Go, after the eval a user types.
	vars := parseExports(t, w.mustMfad("env", "--profile", "prod"))
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])
	if key, _, _, _, err := w.sdkCredentials(""); err != nil || key != roleKey("admin") {
		t.Fatalf("Go SDK for prod: %s, %v", key, err)
	}

	// botocore, in a bash that evaluated `mfad env --profile partner`.
	env := append(w.clientEnv(nil), "MFAD="+mfadBin, "SCRIPT="+botocoreScript, "XDG_RUNTIME_DIR="+filepath.Join(w.home, "run"))
	out, err := runClient(t, env, "bash", "-c", `eval "$("$MFAD" env --profile partner)" && exec python3 -c "$SCRIPT"`)
	if err != nil || !strings.Contains(out, "key="+roleKey("partner")) {
		t.Fatalf("botocore for partner after eval: %v\n%s", err, out)
	}

	// mfad exec: the same, the profile's region, and the exit status.
	out, err = runClient(t, env, mfadBin, "exec", "partner", "--", "python3", "-c", botocoreScript)
	if err != nil || !strings.Contains(out, "key="+roleKey("partner")) {
		t.Fatalf("mfad exec partner -- botocore: %v\n%s", err, out)
	}
	out, err = runClient(t, append(env, "AWS_ACCESS_KEY_ID=AKIASTATICSTATICSTAT", "AWS_PROFILE=hub"), mfadBin, "exec", "prod", "--", "sh", "-c",
		`echo "$MFAD_PROFILE $AWS_REGION ${AWS_ACCESS_KEY_ID:-no-key} ${AWS_PROFILE:-no-profile}"; exit 7`)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 || strings.TrimSpace(out) != "prod us-east-2 no-key no-profile" {
		t.Fatalf("exec's environment or exit status: %v\n%s", err, out)
	}

	// The second IAM user stays locked, and says so.
	out, _ = runClient(t, env, mfadBin, "exec", "bob-admin", "--", debianAWSCLI, "configure", "export-credentials", "--format", "process")
	if !strings.Contains(out, "mfad unlock --profile bob-admin") {
		t.Fatalf("bob's role while bob is locked:\n%s", out)
	}
	status := w.mustMfad("status")
	for _, want := range []string{`prod\s+hub\s+unlocked`, `partner\s+hub\s+unlocked`, `bob\s+-\s+locked`, `bob-admin\s+bob\s+locked`, `forbidden\s+hub\s+pending`,
		"forbidden: last unlock failed: AWS refused to let profile forbidden assume arn:aws:iam::555555555555:role/forbidden"} {
		if !regexp.MustCompile(want).MatchString(status) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}

	// Errors a user can act on.
	expectFailure(t, w.mfad("", nil, "exec", "ghost", "--", "true"), "no profile ghost in ", "[profile ghost]")
	expectFailure(t, w.mfad("", nil, "unlock", "--profile", "carol-admin", "--code", "123456"), "no access key is stored for profile carol", "mfad add carol")
	expectFailure(t, w.mfad("", nil, "unlock", "--profile", "forbidden", "--code", w.freshCode()), "AWS refused to let profile forbidden assume", "trust policy")
}
