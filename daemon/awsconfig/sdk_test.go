package awsconfig

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mfad/mfad/ipc"
)

// TestSDKSettingsAsTheLoaderReadsThem holds loadSDKConfig, which reads the
// settings of a call to STS itself, to the SDK's own loader: for every
// way to set an endpoint, FIPS or dual-stack endpoints, retries, the
// defaults mode, the app ID and a CA bundle, in the environment or the
// config file, an STS client built from either must be the same.
func TestSDKSettingsAsTheLoaderReadsThem(t *testing.T) {
	bundle := writeTestCA(t)
	const base = "[profile other]\nregion = ap-east-1\n"
	for _, tc := range []struct {
		name    string
		profile string // the [default] section's settings
		extra   string // more sections
		env     map[string]string
	}{
		{name: "nothing"},
		{name: "region in the file", profile: "region = eu-north-1"},
		{name: "region in the environment", profile: "region = eu-north-1", env: map[string]string{"AWS_REGION": "us-west-2"}},
		{name: "STS endpoint in the environment", env: map[string]string{"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1/sts"}},
		{name: "global endpoint in the environment", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:2/all"}},
		{name: "both in the environment", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:2/all", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1/sts"}},
		{name: "endpoint_url in the profile", profile: "endpoint_url = http://127.0.0.1:3/profile"},
		{name: "services section", profile: "services = mine", extra: "[services mine]\nsts =\n  endpoint_url = http://127.0.0.1:4/services\ns3 =\n  endpoint_url = http://127.0.0.1:5/s3\n"},
		{name: "services section and the environment", profile: "services = mine\nendpoint_url = http://127.0.0.1:3/profile",
			extra: "[services mine]\nsts =\n  endpoint_url = http://127.0.0.1:4/services\n", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:2/all"}},
		{name: "ignored by the environment", profile: "services = mine\nendpoint_url = http://127.0.0.1:3/profile",
			extra: "[services mine]\nsts =\n  endpoint_url = http://127.0.0.1:4/services\n", env: map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1/sts"}},
		{name: "ignored by the profile", profile: "ignore_configured_endpoint_urls = true\nendpoint_url = http://127.0.0.1:3/profile", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:2/all"}},
		{name: "FIPS in the environment", profile: "region = us-east-1", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}},
		{name: "FIPS in the profile", profile: "region = us-east-1\nuse_fips_endpoint = TRUE"},
		{name: "FIPS off in the environment, on in the profile", profile: "use_fips_endpoint = true", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "false"}},
		{name: "dual-stack in the profile", profile: "use_dualstack_endpoint = true"},
		{name: "FIPS and dual-stack neither true nor false in the profile", profile: "use_fips_endpoint = yes\nuse_dualstack_endpoint = 1"},
		{name: "ignored, but not true", profile: "ignore_configured_endpoint_urls = yes\nendpoint_url = http://127.0.0.1:3/profile"},
		{name: "dual-stack in the environment", env: map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "true"}},
		{name: "retries in the profile", profile: "max_attempts = 7\nretry_mode = adaptive"},
		{name: "retries in the environment", profile: "max_attempts = 7", env: map[string]string{"AWS_MAX_ATTEMPTS": "2", "AWS_RETRY_MODE": "standard"}},
		{name: "defaults mode and app ID", profile: "defaults_mode = in-region\nsdk_ua_app_id = mine"},
		{name: "app ID in the environment", env: map[string]string{"AWS_SDK_UA_APP_ID": "yours"}},
		{name: "CA bundle in the profile", profile: "ca_bundle = " + bundle},
		{name: "CA bundle in the environment", env: map[string]string{"AWS_CA_BUNDLE": bundle}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withConfig(t, "[default]\n"+tc.profile+"\n"+base+tc.extra)
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT",
				"AWS_USE_DUALSTACK_ENDPOINT", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_DEFAULTS_MODE", "AWS_SDK_UA_APP_ID", "AWS_CA_BUNDLE"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			want, err := config.LoadDefaultConfig(context.Background(), config.WithSharedConfigProfile("default"),
				config.WithCredentialsProvider(aws.AnonymousCredentials{}))
			if err != nil {
				t.Fatal(err)
			}
			got, err := loadSDKConfig(context.Background(), "default")
			if err != nil {
				t.Fatal(err)
			}
			w, g := sts.NewFromConfig(want).Options(), sts.NewFromConfig(got).Options()
			str := func(p *string) string {
				if p == nil {
					return "<nil>"
				}
				return *p
			}
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"region", g.Region, w.Region},
				{"endpoint", str(g.BaseEndpoint), str(w.BaseEndpoint)},
				{"FIPS", g.EndpointOptions.UseFIPSEndpoint, w.EndpointOptions.UseFIPSEndpoint},
				{"dual-stack", g.EndpointOptions.UseDualStackEndpoint, w.EndpointOptions.UseDualStackEndpoint},
				{"max attempts", g.RetryMaxAttempts, w.RetryMaxAttempts},
				{"retry mode", g.RetryMode, w.RetryMode},
				{"defaults mode", g.DefaultsMode, w.DefaultsMode},
				{"app ID", g.AppID, w.AppID},
			} {
				if c.got != c.want {
					t.Errorf("%s: %v, the SDK's loader: %v", c.what, c.got, c.want)
				}
			}
			if !roots(want).Equal(roots(got)) {
				t.Error("the CA bundle differs from the SDK loader's")
			}
		})
	}
}

// TestSDKSettingsRefuseBadValues: a value the SDK's loader refuses is
// refused, naming the setting.
func TestSDKSettingsRefuseBadValues(t *testing.T) {
	for _, tc := range []struct{ profile, env, value string }{
		{profile: "max_attempts = many"}, {profile: "retry_mode = sometimes"}, {profile: "ca_bundle = /nonexistent-mfad-test"},
		{profile: "defaults_mode = turbo"}, {env: "AWS_USE_FIPS_ENDPOINT", value: "yes"}, {env: "AWS_USE_DUALSTACK_ENDPOINT", value: "1"},
		{env: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", value: "on"}, {env: "AWS_MAX_ATTEMPTS", value: "x"}, {env: "AWS_CA_BUNDLE", value: "/nonexistent-mfad-test"},
	} {
		t.Run(tc.profile+tc.env, func(t *testing.T) { refusesBadValue(t, tc.profile, tc.env, tc.value) })
	}
}

// refusesBadValue checks one bad value, set in profile default or in
// variable env, in a subtest of its own: the variable is set for it alone.
func refusesBadValue(t *testing.T, profile, env, value string) {
	withConfig(t, "[default]\n"+profile+"\n")
	t.Setenv("AWS_CA_BUNDLE", "")
	if env != "" {
		t.Setenv(env, value)
	}
	if _, err := config.LoadDefaultConfig(context.Background()); err == nil {
		t.Error("the SDK's loader takes it")
	}
	_, err := loadSDKConfig(context.Background(), "default")
	var e *ipc.Error
	if !errors.As(err, &e) {
		t.Fatalf("taken, or not an ipc.Error: %v", err)
	}
	// It names the variable, or the key, the profile and the file.
	where := env
	if where == "" {
		where = strings.Fields(profile)[0] + " of profile default in " + ConfigFile()
	}
	if !strings.Contains(e.Message, where) || e.Hint == "" {
		t.Errorf("%q (hint %q) does not name %q", e.Message, e.Hint, where)
	}
}

func roots(cfg aws.Config) *x509.CertPool {
	if cfg.HTTPClient == nil {
		return nil
	}
	tr := cfg.HTTPClient.(*awshttp.BuildableClient).GetTransport()
	if tr.TLSClientConfig == nil {
		return nil
	}
	return tr.TLSClientConfig.RootCAs
}

// writeTestCA writes a PEM bundle of two CA certificates.
func writeTestCA(t *testing.T) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	for i := range 2 {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: "test CA"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
