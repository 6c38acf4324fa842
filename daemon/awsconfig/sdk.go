package awsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"gopkg.in/ini.v1"

	"github.com/mfad/mfad/ipc"
)

// loadSDKConfig returns the SDK settings of an IAM user's profile, from
// the environment and the config file, for a call to STS: what the SDK's
// own loader (config.LoadDefaultConfig) reads for one, with the same
// precedence (the environment first) and the same errors for bad values:
//
//   - the region (AWS_REGION, AWS_DEFAULT_REGION, region);
//   - endpoints: AWS_ENDPOINT_URL and endpoint_url for every service,
//     AWS_ENDPOINT_URL_STS and the profile's services section for STS,
//     none of them with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or
//     ignore_configured_endpoint_urls;
//   - FIPS and dual-stack endpoints (AWS_USE_FIPS_ENDPOINT,
//     use_fips_endpoint, AWS_USE_DUALSTACK_ENDPOINT, use_dualstack_endpoint);
//   - a CA bundle (AWS_CA_BUNDLE, ca_bundle);
//   - retries (AWS_MAX_ATTEMPTS, max_attempts, AWS_RETRY_MODE, retry_mode),
//     the defaults mode (AWS_DEFAULTS_MODE, defaults_mode) and the app ID
//     (AWS_SDK_UA_APP_ID, sdk_ua_app_id).
//
// The loader itself is not used: it links the SSO and sign-in clients,
// whose endpoint and schema tables (about 400 KB) would be built at start
// in every mfad process, the daemon's heap included, for credential
// sources mfad never uses. TestSDKSettingsAsTheLoaderReadsThem holds the
// two to the same answers. Unlike the loader, the settings are read from
// the config file only, not the credentials file.
func loadSDKConfig(_ context.Context, name string) (aws.Config, error) {
	f, err := readFile()
	if err != nil {
		return aws.Config{}, err
	}
	sec, _ := section(f, name)
	shared := sharedSettings{section: sec, services: servicesOf(f, sec)}
	// get returns a setting, and where it was set, for errors.
	get := func(env, key string) (v, where string) {
		if v := os.Getenv(env); v != "" {
			return v, env + " in the environment"
		}
		return value(sec, key), key + " of profile " + name + " in " + ConfigFile()
	}
	bad := func(where, v string, err error) error {
		return ipc.NewError(ipc.KindBadRequest, fmt.Sprintf("%s is %q: %v", where, v, err), "fix "+where)
	}
	// bool settings fail in the environment only (the file's are lax, as
	// the SDK's): their errors name the variable.
	badBool := func(err error) error {
		return ipc.NewError(ipc.KindBadRequest, err.Error(), "set it to true or false, or unset it")
	}

	cfg := aws.Config{Region: envRegion(), ConfigSources: []any{envSettings{}, shared}}
	if cfg.Region == "" {
		cfg.Region = value(sec, "region")
	}
	ignore, _, err := envSettings{}.GetIgnoreConfiguredEndpoints(context.Background())
	if err == nil && !ignore {
		ignore, _, err = shared.GetIgnoreConfiguredEndpoints(context.Background())
	}
	if err != nil {
		return aws.Config{}, badBool(err)
	}
	if endpoint, _ := get("AWS_ENDPOINT_URL", "endpoint_url"); endpoint != "" && !ignore {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	if v, where := get("AWS_MAX_ATTEMPTS", "max_attempts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return aws.Config{}, bad(where, v, errors.New("not a number"))
		}
		cfg.RetryMaxAttempts = n
	}
	if v, where := get("AWS_RETRY_MODE", "retry_mode"); v != "" {
		mode, err := aws.ParseRetryMode(v)
		if err != nil {
			return aws.Config{}, bad(where, v, errors.New("not standard or adaptive"))
		}
		cfg.RetryMode = mode
	}
	cfg.DefaultsMode = aws.DefaultsModeLegacy
	if v, where := get("AWS_DEFAULTS_MODE", "defaults_mode"); v != "" {
		if !cfg.DefaultsMode.SetFromString(v) {
			return aws.Config{}, bad(where, v, errors.New("not standard, in-region, cross-region, mobile, auto or legacy"))
		}
	}
	cfg.AppID, _ = get("AWS_SDK_UA_APP_ID", "sdk_ua_app_id")
	if path, where := get("AWS_CA_BUNDLE", "ca_bundle"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return aws.Config{}, bad(where, path, errors.Unwrap(err))
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return aws.Config{}, bad(where, path, errors.New("the file holds no PEM certificate"))
		}
		cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{}
			}
			tr.TLSClientConfig.RootCAs = roots
		})
	}
	// FIPS and dual-stack settings are read by the client from
	// ConfigSources; check them here, where a bad value can be named.
	for _, src := range cfg.ConfigSources {
		p := src.(interface {
			GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
			GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error)
		})
		if _, _, err := p.GetUseFIPSEndpoint(context.Background()); err != nil {
			return aws.Config{}, badBool(err)
		}
		if _, _, err := p.GetUseDualStackEndpoint(context.Background()); err != nil {
			return aws.Config{}, badBool(err)
		}
	}
	return cfg, nil
}

// servicesOf returns the [services NAME] section that sec names in its
// services setting, by service: sts = (newline, indented) endpoint_url = URL.
func servicesOf(f *ini.File, sec *ini.Section) map[string]map[string]string {
	name := value(sec, "services")
	if name == "" {
		return nil
	}
	s, err := f.GetSection("services " + name)
	if err != nil {
		return nil
	}
	out := map[string]map[string]string{}
	for _, k := range s.Keys() {
		sub := map[string]string{}
		for _, line := range strings.Split(k.Value(), "\n") {
			if key, v, ok := strings.Cut(line, "="); ok {
				sub[strings.TrimSpace(key)] = strings.TrimSpace(v)
			}
		}
		out[strings.ToLower(k.Name())] = sub
	}
	return out
}

// envSettings and sharedSettings answer the SDK clients' questions about
// configured endpoints (aws.Config.ConfigSources), from the environment
// and from the profile's section, as the loader's sources do.
type envSettings struct{}

func (envSettings) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return parseBool("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
}

func (envSettings) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := os.Getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

func (envSettings) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return fipsState(parseBool("AWS_USE_FIPS_ENDPOINT"))
}

func (envSettings) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return dualStackState(parseBool("AWS_USE_DUALSTACK_ENDPOINT"))
}

type sharedSettings struct {
	section  *ini.Section
	services map[string]map[string]string
}

func (s sharedSettings) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return sharedBool(value(s.section, "ignore_configured_endpoint_urls"))
}

func (s sharedSettings) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := s.services[strings.ReplaceAll(strings.ToLower(sdkID), " ", "_")]["endpoint_url"]
	return v, v != "", nil
}

func (s sharedSettings) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return fipsState(sharedBool(value(s.section, "use_fips_endpoint")))
}

func (s sharedSettings) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return dualStackState(sharedBool(value(s.section, "use_dualstack_endpoint")))
}

// sharedBool reads a setting of the config file as the SDK does: "true"
// in any case is true, anything else false; "" is not set.
func sharedBool(v string) (value, found bool, err error) {
	return strings.EqualFold(v, "true"), v != "", nil
}

// parseBool reads variable name of the environment as the SDK does:
// "true" or "false" in any case, anything else an error; "" is not set.
func parseBool(name string) (value, found bool, err error) {
	switch v := os.Getenv(name); strings.ToLower(v) {
	case "":
		return false, false, nil
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	default:
		return false, false, fmt.Errorf("%s in the environment is %q: neither true nor false", name, v)
	}
}

func fipsState(on, found bool, err error) (aws.FIPSEndpointState, bool, error) {
	if !found || err != nil {
		return aws.FIPSEndpointStateUnset, false, err
	}
	if on {
		return aws.FIPSEndpointStateEnabled, true, nil
	}
	return aws.FIPSEndpointStateDisabled, true, nil
}

func dualStackState(on, found bool, err error) (aws.DualStackEndpointState, bool, error) {
	if !found || err != nil {
		return aws.DualStackEndpointStateUnset, false, err
	}
	if on {
		return aws.DualStackEndpointStateEnabled, true, nil
	}
	return aws.DualStackEndpointStateDisabled, true, nil
}
