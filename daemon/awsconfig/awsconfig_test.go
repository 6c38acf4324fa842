package awsconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mfad/mfad/ipc"
)

func withConfig(t *testing.T, content string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
}

func TestLoad(t *testing.T) {
	withConfig(t, `# comment
[default]
region = eu-west-1
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[profile work]
region=us-east-2
mfa_serial =   arn:aws:iam::210987654321:mfa/bob  

[profile bare]
`)
	for _, tc := range []struct{ name, serial, region, account string }{
		{"default", "arn:aws:iam::123456789012:mfa/alice", "eu-west-1", "123456789012"},
		{"work", "arn:aws:iam::210987654321:mfa/bob", "us-east-2", "210987654321"},
		{"bare", "", "", ""},
	} {
		p, err := Load(context.Background(), tc.name)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if p.MFASerial != tc.serial || p.Region != tc.region || p.AccountID != tc.account {
			t.Errorf("%s: got %+v", tc.name, p)
		}
	}
	_, err := Load(context.Background(), "ghost")
	var e *ipc.Error
	if !errors.As(err, &e) || e.Kind != ipc.KindProfileNotFound {
		t.Fatalf("missing profile: %v", err)
	}
}

func TestRegionFromEnvironment(t *testing.T) {
	withConfig(t, "[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n")
	t.Setenv("AWS_REGION", "ap-southeast-2")
	p, err := Load(context.Background(), "default")
	if err != nil || p.Region != "ap-southeast-2" {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestNoConfigFileDefaultProfile(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "absent"))
	p, err := Load(context.Background(), "default")
	if err != nil || p.MFASerial != "" {
		t.Fatalf("default profile without a config file: %+v, %v", p, err)
	}
	if h := NoMFASerialError("default").Hint; h == "" || !strings.Contains(h, "[default]") {
		t.Errorf("hint %q does not name the [default] section", h)
	}
}

func TestMFAProcess(t *testing.T) {
	withConfig(t, "[default]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nmfa_process = ykman oath accounts code --single aws\n\n[profile work]\nmfa_process=oathtool --totp -b SEED\n[profile none]\n")
	for name, want := range map[string]string{"default": "ykman oath accounts code --single aws", "work": "oathtool --totp -b SEED", "none": ""} {
		p, err := Load(context.Background(), name)
		if err != nil || p.MFAProcess != want {
			t.Errorf("%s: %q, %v; want %q", name, p.MFAProcess, err, want)
		}
	}
}

func TestRoleChains(t *testing.T) {
	withConfig(t, `[profile hub]
region = eu-west-1
mfa_serial = arn:aws:iam::111111111111:mfa/alice

[profile prod]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = hub
region = us-east-2
duration_seconds = 1800

[profile partner]
role_arn = arn:aws:iam::333333333333:role/partner
source_profile = prod
external_id = xyz
role_session_name = alice

[profile loop-a]
role_arn = arn:aws:iam::1:role/a
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::1:role/b
source_profile = loop-a

[profile orphan]
role_arn = arn:aws:iam::1:role/o
source_profile = ghost

[profile webid]
role_arn = arn:aws:iam::1:role/w
web_identity_token_file = /tmp/token
`)
	chain, err := Chain(context.Background(), "partner")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range chain {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "hub,prod,partner" {
		t.Fatalf("chain %v", names)
	}
	partner, prod := chain[2], chain[1]
	if partner.Role.ExternalID != "xyz" || partner.Role.SessionName != "alice" || partner.Role.Source != "prod" || partner.AccountID != "333333333333" {
		t.Errorf("partner %+v %+v", partner, partner.Role)
	}
	if prod.Region != "us-east-2" || prod.SessionDuration != 30*time.Minute || partner.Region != "eu-west-1" {
		t.Errorf("regions %s %s, duration %s", prod.Region, partner.Region, prod.SessionDuration)
	}
	if chain[0].Role != nil || chain[0].MFASerial == "" {
		t.Errorf("root %+v", chain[0])
	}
	for name, want := range map[string]string{
		"loop-a": "loops back to loop-a",
		"orphan": "names source_profile ghost, which is not defined",
		"webid":  "without source_profile",
		"ghost":  "no profile ghost in ",
	} {
		if _, err := Chain(context.Background(), name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	got, err := Names()
	if err != nil || strings.Join(got, ",") != "hub,loop-a,loop-b,orphan,partner,prod,webid" {
		t.Errorf("names %v %v", got, err)
	}
}

func TestSetValue(t *testing.T) {
	for _, tc := range []struct{ before, profile, after string }{
		{"", "default", "[default]\nmfa_serial = X\n"},
		{"# mine\n[default]\nregion = eu-west-1\n\n[profile b]\nregion=x\n", "default",
			"# mine\n[default]\nmfa_serial = X\nregion = eu-west-1\n\n[profile b]\nregion=x\n"},
		{"[default]\nmfa_serial = old\nregion = eu-west-1 ; keep\n", "default", "[default]\nmfa_serial = X\nregion = eu-west-1 ; keep\n"},
		{"[default]\nregion = a", "work", "[default]\nregion = a\n\n[profile work]\nmfa_serial = X\n"},
		{"[profile work]\n# comment\n[profile x]\nmfa_serial = keep\n", "work", "[profile work]\nmfa_serial = X\n# comment\n[profile x]\nmfa_serial = keep\n"},
	} {
		withConfig(t, tc.before)
		if tc.before == "" {
			os.Remove(os.Getenv("AWS_CONFIG_FILE"))
		}
		if err := SetValue(tc.profile, "mfa_serial", "X"); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(os.Getenv("AWS_CONFIG_FILE"))
		if string(got) != tc.after {
			t.Errorf("from %q:\ngot  %q\nwant %q", tc.before, got, tc.after)
		}
	}
}

func TestNotFoundNamesTheClosest(t *testing.T) {
	withConfig(t, "[default]\n[profile prod]\n[profile prod-eu]\n[profile staging]\n[profile dev]\n")
	for name, want := range map[string]string{
		"prdo":    "did you mean prod?",
		"stag":    "did you mean staging?",
		"stagign": "did you mean staging?",
		"Dev":     "did you mean dev?",
		"zzzzzz":  "add a [profile zzzzzz] section",
	} {
		e := NotFoundError(name)
		if !strings.HasPrefix(e.Message, "no profile "+name+" in ") || !strings.Contains(e.Hint, want) {
			t.Errorf("%s: %q / %q, want hint %q", name, e.Message, e.Hint, want)
		}
	}
	if e := NotFoundError("zzzzzz"); strings.Contains(e.Hint, "did you mean") {
		t.Errorf("nothing is close to zzzzzz: %q", e.Hint)
	}
}

func TestRoleDurationChecked(t *testing.T) {
	withConfig(t, "[default]\nmfa_serial = arn:aws:iam::1:mfa/a\n[profile short]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\nduration_seconds = 100\n"+
		"[profile long]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\nduration_seconds = 43201\n[profile ok]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\nduration_seconds = 43200\n")
	for _, name := range []string{"short", "long"} {
		if _, err := Chain(context.Background(), name); err == nil || !strings.Contains(err.Error(), "a role session lasts 900 to 43200 seconds") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Chain(context.Background(), "ok"); err != nil {
		t.Errorf("43200 s: %v", err)
	}
}

func TestStampChangesWithTheFile(t *testing.T) {
	withConfig(t, "[default]\n")
	before := Stamp()
	if Stamp() != before {
		t.Fatal("stamp changed without a change")
	}
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte("[default]\n[profile new]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if Stamp() == before {
		t.Fatal("stamp did not change with the file")
	}
}

func TestIsolatedConfig(t *testing.T) {
	withConfig(t, `# mine
[default]
region = eu-west-1
aws_access_key_id = AKIAEXAMPLEEXAMPLE12
credential_process = /bin/keys

[profile prod]
role_arn = arn:aws:iam::2:role/admin
source_profile = default
region = us-east-2
output = text
s3 =
  max_concurrent_requests = 3
sso_start_url = https://x
mfa_serial = arn:aws:iam::1:mfa/a

[sso-session corp]
sso_region = us-east-1
`)
	got, err := IsolatedConfig("prod")
	if err != nil {
		t.Fatal(err)
	}
	text := string(got)
	def := text[strings.Index(text, "[default]"):strings.Index(text, "# mine")]
	if want := "[default]\nregion = us-east-2\noutput = text\ns3 =\n  max_concurrent_requests = 3\n\n"; def != want {
		t.Errorf("default section:\n%q\nwant\n%q", def, want)
	}
	for _, gone := range []string{"AKIAEXAMPLE", "/bin/keys", "region = eu-west-1"} {
		if strings.Contains(text, gone) {
			t.Errorf("%q survived:\n%s", gone, text)
		}
	}
	for _, kept := range []string{"[profile prod]\nrole_arn = arn:aws:iam::2:role/admin", "[sso-session corp]\nsso_region = us-east-1"} {
		if !strings.Contains(text, kept) {
			t.Errorf("%q lost:\n%s", kept, text)
		}
	}
}

// TestRegionAsTheSDKReadsIt: the region of a profile that sets none is
// found without the SDK's loader (which reads several files and a CA
// bundle, and now runs only before a call to AWS), and must be the one
// the loader gives the IAM user's profile; SDKConfig, which does run the
// loader, must agree and carry the endpoint the environment sets.
func TestRegionAsTheSDKReadsIt(t *testing.T) {
	const cfg = `[default]
mfa_serial = arn:aws:iam::123456789012:mfa/alice
[profile user]
region = eu-north-1
mfa_serial = arn:aws:iam::123456789012:mfa/alice
[profile role]
role_arn = arn:aws:iam::123456789012:role/r
source_profile = user
[profile regional-role]
role_arn = arn:aws:iam::123456789012:role/r
source_profile = user
region = sa-east-1
`
	for _, env := range []map[string]string{
		{}, {"AWS_REGION": "ap-south-1"}, {"AWS_DEFAULT_REGION": "ca-central-1"},
		{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ca-central-1"},
	} {
		withConfig(t, cfg)
		t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1/sts")
		for k, v := range env {
			t.Setenv(k, v)
		}
		for _, name := range []string{"default", "user", "role", "regional-role"} {
			chain, err := Chain(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			p := chain[len(chain)-1]
			sdk, err := loadSDKConfig(context.Background(), chain[0].Name)
			if err != nil {
				t.Fatal(err)
			}
			want := sdk.Region
			if own := Setting(name, "region"); own != "" {
				want = own
			}
			if p.Region != want {
				t.Errorf("%v, %s: region %q, the SDK's loader gives %q", env, name, p.Region, want)
			}
			got, err := p.SDKConfig(context.Background(), nil)
			if err != nil || got.Region != want {
				t.Fatalf("%v, %s: SDKConfig %q, %v", env, name, got.Region, err)
			}
			if ep := sts.NewFromConfig(got).Options().BaseEndpoint; ep == nil || *ep != "http://127.0.0.1:1/sts" {
				t.Errorf("%v, %s: STS endpoint %v", env, name, ep)
			}
		}
	}
}
