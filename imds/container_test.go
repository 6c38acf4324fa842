package imds

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

const testContainerToken = "container-token-for-tests"

func containerHandler(creds func(ctx context.Context, profile string) (Credentials, error)) *Handler {
	return newTestHandler(unlockedSource(), Options{Container: &ContainerOptions{Token: testContainerToken, Credentials: creds}})
}

func byProfile(ctx context.Context, profile string) (Credentials, error) {
	if profile != "work" {
		return Credentials{}, &UnavailableError{Code: "MFASessionLocked", Message: "run `mfad unlock --profile " + profile + "`"}
	}
	c := testCreds
	c.AccountID = "123456789012"
	return c, nil
}

func TestContainerEndpoint(t *testing.T) {
	h := containerHandler(byProfile)
	for _, tc := range []struct {
		name, target, auth string
		status             int
		code               string
	}{
		{"served", "/profiles/work", testContainerToken, 200, ""},
		{"double slash", "//profiles/work/", testContainerToken, 200, ""},
		{"locked profile", "/profiles/other", testContainerToken, 403, "MFASessionLocked"},
		{"no token", "/profiles/work", "", 401, "Unauthorized"},
		{"wrong token", "/profiles/work", "container-token-for-testz", 401, "Unauthorized"},
		{"token prefix", "/profiles/work", "container-token", 401, "Unauthorized"},
		{"the profile's own token", "/profiles/work", ProfileToken(testContainerToken, "work"), 200, ""},
		{"another profile's token", "/profiles/work", ProfileToken(testContainerToken, "other"), 401, "Unauthorized"},
		{"a profile's token for another profile", "/profiles/other", ProfileToken(testContainerToken, "work"), 401, "Unauthorized"},
		{"no profile", "/profiles/", testContainerToken, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			w := serve(h, newRequest(http.MethodGet, tc.target, hdr))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 && strings.Contains(w.Body.String(), testCreds.SecretAccessKey) {
				t.Fatal("refusal carries the secret")
			}
			if tc.code != "" {
				var e struct{ Code, Message string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != tc.code || e.Message == "" {
					t.Fatalf("error body %s", w.Body)
				}
			}
		})
	}
}

func TestContainerEndpointOffByDefault(t *testing.T) {
	h := newTestHandler(unlockedSource(), Options{})
	if w := serve(h, newRequest(http.MethodGet, "/profiles/work", map[string]string{"Authorization": ""})); w.Code != 404 {
		t.Fatalf("status %d, want 404", w.Code)
	}
}

// TestContainerGoSDK reads the endpoint with aws-sdk-go-v2's own provider.
func TestContainerGoSDK(t *testing.T) {
	srv := httptest.NewServer(containerHandler(byProfile))
	defer srv.Close()
	p := endpointcreds.New(srv.URL+"/profiles/work", func(o *endpointcreds.Options) { o.AuthorizationToken = testContainerToken })
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != testCreds.AccessKeyID || c.SessionToken != testCreds.SessionToken || c.AccountID != "123456789012" {
		t.Fatalf("got %+v", c)
	}
	_, err = endpointcreds.New(srv.URL+"/profiles/other", func(o *endpointcreds.Options) { o.AuthorizationToken = testContainerToken }).Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "MFASessionLocked") || !strings.Contains(err.Error(), "mfad unlock --profile other") {
		t.Fatalf("locked: %v", err)
	}
}

// TestContainerDocumentFollowsCredentials: the document encoded once is
// encoded again when the profile's credentials change.
func TestContainerDocumentFollowsCredentials(t *testing.T) {
	key := "ASIAFIRSTFIRSTFIRST1"
	h := containerHandler(func(context.Context, string) (Credentials, error) {
		c := testCreds
		c.AccessKeyID = key
		return c, nil
	})
	for _, want := range []string{"ASIAFIRSTFIRSTFIRST1", "ASIAFIRSTFIRSTFIRST1", "ASIASECONDSECONDSEC2"} {
		key = want
		w := serve(h, newRequest(http.MethodGet, "/profiles/work", map[string]string{"Authorization": ProfileToken(testContainerToken, "work")}))
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"AccessKeyId":"`+want+`"`) {
			t.Fatalf("want %s: %d %s", want, w.Code, w.Body.String())
		}
	}
}
