// Package awsconfig reads a profile from the AWS shared config files
// (~/.aws/config, or the file AWS_CONFIG_FILE names) with the SDK's own
// loader, so mfad understands them exactly as the AWS CLI and SDKs do.
package awsconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"

	"gopkg.in/ini.v1"

	"github.com/mfad/mfad/ipc"
)

// Profile is what mfad needs to know of one profile.
type Profile struct {
	Name string
	// MFASerial is the ARN of the IAM user's MFA device (mfa_serial).
	MFASerial string
	// Region is the profile's region, or the one the environment sets.
	Region string
	// AccountID is the account of the MFA device, when mfa_serial is an ARN.
	AccountID string
	// SessionDuration is duration_seconds: how long an MFA session of this
	// profile should last. Zero when not set.
	SessionDuration time.Duration
	// MFAProcess is mfa_process: a command that prints a one-time code
	// (for example `ykman oath accounts code --single aws`), as aws-vault
	// reads it. The SDK does not know the key, so it is read from the file.
	MFAProcess string

	// sdk is the SDK configuration for the profile: region, and endpoints
	// from AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL or the config file.
	// Its credentials are deliberately none: mfad supplies keys itself.
	sdk aws.Config
}

// SDKConfig returns the SDK configuration for calling AWS as this profile,
// with the given credentials. It never falls back to the SDK's default
// credential chain, which could find mfad itself through IMDS.
func (p *Profile) SDKConfig(creds aws.CredentialsProvider) aws.Config {
	cfg := p.sdk.Copy()
	cfg.Credentials = creds
	return cfg
}

// ConfigFile returns the path of the shared config file in use.
func ConfigFile() string {
	if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
		return f
	}
	return filepath.Join("~", ".aws", "config")
}

// Load reads profile name. A missing "default" profile is no error, as in
// the AWS CLI: it is a profile with nothing set.
func Load(ctx context.Context, name string) (*Profile, error) {
	cfg, err := loadSDKConfig(ctx, name)
	if err != nil {
		return nil, err
	}
	p := &Profile{Name: name, Region: cfg.Region, sdk: cfg}
	for _, src := range cfg.ConfigSources {
		if sc, ok := src.(config.SharedConfig); ok {
			p.MFASerial = strings.TrimSpace(sc.MFASerial)
			if sc.RoleDurationSeconds != nil {
				p.SessionDuration = *sc.RoleDurationSeconds
			}
		}
	}
	if a, err := arn.Parse(p.MFASerial); err == nil {
		p.AccountID = a.AccountID
	}
	p.MFAProcess = mfaProcess(name)
	return p, nil
}

// mfaProcess reads the profile's mfa_process from the config file.
func mfaProcess(name string) string {
	path := os.Getenv("AWS_CONFIG_FILE")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		path = filepath.Join(home, ".aws", "config")
	}
	f, err := ini.LoadSources(ini.LoadOptions{Loose: true, AllowPythonMultilineValues: true}, path)
	if err != nil {
		return ""
	}
	sections := []string{"profile " + name}
	if name == "default" {
		sections = append(sections, "default")
	}
	for _, sec := range sections {
		if v := strings.TrimSpace(f.Section(sec).Key("mfa_process").String()); v != "" {
			return v
		}
	}
	return ""
}

func loadSDKConfig(ctx context.Context, name string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithSharedConfigProfile(name),
		config.WithCredentialsProvider(aws.AnonymousCredentials{}),
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	var missing config.SharedConfigProfileNotExistError
	if errors.As(err, &missing) && name == "default" {
		// The SDK insists on a profile it was asked for by name. Asked
		// for none, and given no files, it reads the environment alone
		// (and still insists if AWS_PROFILE names one: then the error
		// below stands).
		envOnly := []func(*config.LoadOptions) error{
			config.WithCredentialsProvider(aws.AnonymousCredentials{}),
			config.WithSharedConfigFiles([]string{}),
			config.WithSharedCredentialsFiles([]string{}),
		}
		if cfg, err2 := config.LoadDefaultConfig(ctx, envOnly...); err2 == nil {
			return cfg, nil
		}
	}
	switch {
	case errors.As(err, &missing):
		return aws.Config{}, NotFoundError(name)
	case err != nil:
		return aws.Config{}, ipc.NewError(ipc.KindProfileNotFound,
			"failed to read profile "+name+" from "+ConfigFile()+": "+err.Error(),
			"fix the AWS config file; `aws configure list --profile "+name+"` shows how the AWS CLI reads it")
	}
	return cfg, nil
}

// NotFoundError reports a profile that the config files do not define.
func NotFoundError(name string) *ipc.Error {
	return ipc.NewError(ipc.KindProfileNotFound,
		"profile "+name+" is not defined in "+ConfigFile(),
		"add a [profile "+name+"] section with mfa_serial and region, or pick another with --profile")
}

// NoMFASerialError reports a profile without mfa_serial.
func NoMFASerialError(name string) *ipc.Error {
	section := "[profile " + name + "]"
	if name == "default" {
		section = "[default]"
	}
	return ipc.NewError(ipc.KindNoMFASerial,
		"profile "+name+" has no mfa_serial in "+ConfigFile(),
		"add `mfa_serial = arn:aws:iam::ACCOUNT_ID:mfa/DEVICE_NAME` under "+section+
			" (the ARN is on the IAM user's Security credentials page)")
}
