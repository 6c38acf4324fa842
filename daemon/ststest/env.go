package ststest

import (
	"os"
	"path/filepath"
	"testing"
)

// Setenv points the AWS SDK in this test process at srv, and at an AWS
// config file holding awsConfig, through the standard environment variables
// (AWS_ENDPOINT_URL_STS, AWS_CONFIG_FILE), for the length of test t. The
// shared credentials file is one that does not exist, so no key on the
// machine running the test can leak in.
func Setenv(t testing.TB, srv *Server, awsConfig string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(awsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
}
