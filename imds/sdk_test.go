package imds_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go"

	"github.com/mfad/mfad/imds"
)

type source struct {
	creds imds.Credentials
	err   error
}

func (s *source) Identity() imds.Identity {
	return imds.Identity{RoleName: "default", AccountID: "123456789012", Region: "eu-west-1"}
}
func (s *source) Credentials(context.Context) (imds.Credentials, error) { return s.creds, s.err }

// TestGoSDKReadsCredentials runs aws-sdk-go-v2's own IMDS credential
// provider against the handler on a real loopback listener.
func TestGoSDKReadsCredentials(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	src := &source{creds: imds.Credentials{
		AccessKeyID: "ASIAEXAMPLEEXAMPLE01", SecretAccessKey: "s3cr3t", SessionToken: "tok",
		Expiration: exp, LastUpdated: time.Now(),
	}}
	h := imds.NewHandler(src, imds.Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()

	provider := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = sdkimds.New(sdkimds.Options{Endpoint: srv.URL + "/"})
	})
	creds, err := provider.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAEXAMPLEEXAMPLE01" || creds.SecretAccessKey != "s3cr3t" || creds.SessionToken != "tok" || !creds.Expires.Equal(exp) {
		t.Fatalf("got %+v", creds)
	}
	if s := h.Stats(); s.TokensIssued == 0 || s.TokenRequests == 0 || s.V1Requests != 0 {
		t.Fatalf("the SDK did not use IMDSv2: %+v", s)
	}

	src.err = &imds.UnavailableError{Code: "MFASessionLocked", Message: "run `mfad unlock`"}
	_, err = provider.Retrieve(context.Background())
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "MFASessionLocked" || !strings.Contains(err.Error(), "run `mfad unlock`") {
		t.Fatalf("locked: error %v does not pass the daemon's message through", err)
	}
}

// TestDoubleSlashIsNotRedirected checks the request Java's SDK makes when
// the endpoint ends in a slash: a redirect would break it.
func TestDoubleSlashIsNotRedirected(t *testing.T) {
	srv := httptest.NewServer(imds.NewHandler(&source{}, imds.Options{}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"//latest/api/token", nil)
	req.Header.Set(imds.TokenTTLHeader, "21600")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT //latest/api/token: %d, want 200", resp.StatusCode)
	}
}
