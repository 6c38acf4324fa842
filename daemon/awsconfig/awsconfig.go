// Package awsconfig reads profiles from the AWS shared config file
// (~/.aws/config, or the file AWS_CONFIG_FILE names), so mfad understands
// them as the AWS CLI and SDKs do.
//
// An IAM user's profile is read with the SDK's own loader. A role profile
// (role_arn with source_profile) is read from the file directly: the SDK's
// loader refuses a role whose source has no keys in the files, and with
// mfad the keys live in the keyring. Its chain of source_profile entries is
// followed to the IAM user at its root.
package awsconfig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"gopkg.in/ini.v1"

	"github.com/mfad/mfad/ipc"
)

// Profile is what mfad needs to know of one profile.
type Profile struct {
	Name string
	// MFASerial is the ARN of the MFA device (mfa_serial).
	MFASerial string
	// Region is the profile's region, or the one the environment sets.
	Region string
	// AccountID is the account of the MFA device, when mfa_serial is an ARN.
	AccountID string
	// SessionDuration is duration_seconds: how long a session of this
	// profile should last (the MFA session of an IAM user's profile, the
	// role session of a role profile). Zero when not set.
	SessionDuration time.Duration
	// MFAProcess is mfa_process: a command that prints a one-time code
	// (for example `ykman oath accounts code --single aws`), as aws-vault
	// reads it.
	MFAProcess string
	// Role is set for a profile that assumes a role.
	Role *Role

	// root is the IAM user's profile at the root of the chain: the SDK
	// settings (endpoints, CA bundle…) of a call to AWS are its own.
	root string
}

// MetadataCredentialSource is the credential_source with which a role
// profile is assumed, by the SDK itself, with the credentials of the
// metadata endpoint: with mfad, the MFA session of the profile it serves
// there. It makes AWS_PROFILE=ROLE work in every SDK.
const MetadataCredentialSource = "Ec2InstanceMetadata"

var metadataProfile atomic.Pointer[string]

// SetMetadataProfile says which profile mfad serves on the metadata
// endpoint: role profiles with credential_source = Ec2InstanceMetadata are
// built on it. The daemon sets it at start; commands, from its status.
func SetMetadataProfile(name string) { metadataProfile.Store(&name) }

// MetadataProfile is the profile SetMetadataProfile named, or "".
func MetadataProfile() string {
	if p := metadataProfile.Load(); p != nil {
		return *p
	}
	return ""
}

// What AssumeRole accepts: the role's own maximum may be lower.
const (
	MinRoleDuration = 15 * time.Minute
	MaxRoleDuration = 12 * time.Hour
)

// Role is how a profile assumes a role.
type Role struct {
	ARN         string // role_arn
	Source      string // source_profile
	ExternalID  string // external_id
	SessionName string // role_session_name
}

// SDKConfig returns the SDK configuration for calling AWS as this profile,
// with the given credentials: the region, and the endpoints
// (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the config file), CA
// bundle and every other setting the SDK's own loader reads for the IAM
// user's profile. It never falls back to the SDK's default credential
// chain, which could find mfad itself through IMDS.
//
// It is loaded here, when AWS is about to be called, not with the profile:
// the loader reads several files (and parses a whole CA bundle when one is
// set), while the daemon reads profiles at start and whenever the config
// file changes, and calls AWS only to unlock or to assume a role.
func (p *Profile) SDKConfig(ctx context.Context, creds aws.CredentialsProvider) (aws.Config, error) {
	cfg, err := loadSDKConfig(ctx, p.root)
	if err != nil {
		return aws.Config{}, err
	}
	cfg.Region = p.Region
	cfg.Credentials = creds
	return cfg, nil
}

// ConfigFile returns the path of the shared config file in use.
func ConfigFile() string {
	if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
		return f
	}
	return filepath.Join("~", ".aws", "config")
}

func configPath() string {
	if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
		return f
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".aws", "config")
}

// readFile parses the config file; a missing file is an empty one.
func readFile() (*ini.File, error) {
	f, err := ini.LoadSources(ini.LoadOptions{Loose: true, AllowPythonMultilineValues: true}, configPath())
	if err != nil {
		return nil, ipc.NewError(ipc.KindProfileNotFound, "failed to read "+ConfigFile()+": "+err.Error(),
			"fix the AWS config file; `aws configure list` shows how the AWS CLI reads it")
	}
	return f, nil
}

// section returns the file's section for profile name.
func section(f *ini.File, name string) (*ini.Section, bool) {
	candidates := []string{"profile " + name}
	if name == "default" {
		candidates = append(candidates, "default")
	}
	for _, c := range candidates {
		if s, err := f.GetSection(c); err == nil {
			return s, true
		}
	}
	return nil, false
}

func value(s *ini.Section, key string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(s.Key(key).String())
}

// Names lists the profiles the config file defines, sorted.
func Names() ([]string, error) {
	f, err := readFile()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range f.Sections() {
		switch name := s.Name(); {
		case name == "default":
			names = append(names, "default")
		case strings.HasPrefix(name, "profile "):
			names = append(names, strings.TrimSpace(strings.TrimPrefix(name, "profile ")))
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Setting returns key's value in profile's own section of the config file,
// or "": what an SDK reads when that profile is picked, without anything
// mfad infers along a source_profile chain.
func Setting(profile, key string) string {
	f, err := readFile()
	if err != nil {
		return ""
	}
	sec, _ := section(f, profile)
	return value(sec, key)
}

// IsRole reports whether the config file gives profile name a role_arn.
func IsRole(name string) bool {
	f, err := readFile()
	if err != nil {
		return false
	}
	sec, ok := section(f, name)
	return ok && value(sec, "role_arn") != ""
}

// Load reads profile name. A missing "default" profile is no error, as in
// the AWS CLI: it is a profile with nothing set.
func Load(ctx context.Context, name string) (*Profile, error) {
	chain, err := Chain(ctx, name)
	if err != nil {
		return nil, err
	}
	return chain[len(chain)-1], nil
}

// Chain returns the profiles from the IAM user's at the root of name's
// source_profile chain (first) to name itself (last). For an IAM user's
// profile it holds that profile alone.
func Chain(ctx context.Context, name string) ([]*Profile, error) {
	f, err := readFile()
	if err != nil {
		return nil, err
	}
	var chain []*Profile
	seen := map[string]bool{}
	for current := name; ; {
		if seen[current] {
			return nil, ipc.NewError(ipc.KindProfileNotFound,
				fmt.Sprintf("profile %s's source_profile chain loops back to %s", name, current),
				"make the source_profile chain of "+name+" end at the profile of the IAM user whose key `mfad add` stored")
		}
		seen[current] = true
		sec, ok := section(f, current)
		if !ok && (current != "default" || len(chain) > 0) {
			if len(chain) > 0 {
				return nil, ipc.NewError(ipc.KindProfileNotFound,
					fmt.Sprintf("profile %s names source_profile %s, which is not defined in %s", chain[0].Name, current, ConfigFile()),
					"add a [profile "+current+"] section for the IAM user, or fix source_profile")
			}
			return nil, NotFoundError(current)
		}
		p, err := fromSection(current, sec)
		if err != nil {
			return nil, err
		}
		chain = append([]*Profile{p}, chain...)
		if p.Role == nil {
			break
		}
		current = p.Role.Source
	}
	root := chain[0]
	// The region of a profile that sets none: the one the SDK's loader
	// gives the IAM user's profile (the environment's, else its own).
	region := envRegion()
	if region == "" {
		region = root.Region
	}
	for _, p := range chain {
		p.root = root.Name
		if p.Region == "" {
			p.Region = region
		}
	}
	return chain, nil
}

// envRegion is the region the environment sets, as the SDK reads it.
func envRegion() string {
	if r := os.Getenv("AWS_REGION"); r != "" {
		return r
	}
	return os.Getenv("AWS_DEFAULT_REGION")
}

// MFASerial is the MFA device of a chain: the IAM user's mfa_serial, else
// the nearest one a role profile sets, as the AWS CLI reads it.
func MFASerial(chain []*Profile) string {
	return nearest(chain, func(p *Profile) string { return p.MFASerial })
}

// MFAProcess is the mfa_process of a chain, found the same way.
func MFAProcess(chain []*Profile) string {
	return nearest(chain, func(p *Profile) string { return p.MFAProcess })
}

// nearest returns the IAM user's setting, else the one of the role nearest
// the end of the chain that has it.
func nearest(chain []*Profile, setting func(*Profile) string) string {
	if v := setting(chain[0]); v != "" {
		return v
	}
	for i := len(chain) - 1; i > 0; i-- {
		if v := setting(chain[i]); v != "" {
			return v
		}
	}
	return ""
}

// fromSection reads what mfad uses of a profile's section.
func fromSection(name string, sec *ini.Section) (*Profile, error) {
	p := &Profile{
		Name:       name,
		MFASerial:  value(sec, "mfa_serial"),
		Region:     value(sec, "region"),
		MFAProcess: value(sec, "mfa_process"),
	}
	if d := value(sec, "duration_seconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return nil, ipc.NewError(ipc.KindBadRequest, fmt.Sprintf("duration_seconds = %q in profile %s is not a number of seconds", d, name),
				"fix duration_seconds in "+ConfigFile())
		}
		p.SessionDuration = time.Duration(n) * time.Second
	}
	if a, err := arn.Parse(p.MFASerial); err == nil {
		p.AccountID = a.AccountID
	}
	if roleARN := value(sec, "role_arn"); roleARN != "" {
		source := value(sec, "source_profile")
		if source == "" && value(sec, "credential_source") == MetadataCredentialSource {
			// The SDK assumes this role itself, with the credentials of
			// the metadata endpoint: mfad's, of the profile it serves there.
			source = MetadataProfile()
		}
		if source == "" {
			return nil, ipc.NewError(ipc.KindBadRequest,
				"profile "+name+" assumes a role without source_profile or credential_source = "+MetadataCredentialSource+" (web identity and other credential sources are not mfad's)",
				"set source_profile to the profile of the IAM user whose key `mfad add` stored, or credential_source = "+MetadataCredentialSource+" to build on the profile mfad serves")
		}
		p.Role = &Role{ARN: roleARN, Source: source, ExternalID: value(sec, "external_id"), SessionName: value(sec, "role_session_name")}
		if d := p.SessionDuration; d != 0 && (d < MinRoleDuration || d > MaxRoleDuration) {
			return nil, ipc.NewError(ipc.KindBadRequest,
				fmt.Sprintf("duration_seconds = %d in profile %s is out of range: a role session lasts 900 to 43200 seconds, and at most the role's maximum session duration", int(d/time.Second), name),
				"fix duration_seconds in "+ConfigFile()+", or remove it for one hour")
		}
		if a, err := arn.Parse(roleARN); err == nil {
			p.AccountID = a.AccountID
		}
	}
	return p, nil
}

// NotFoundError reports a profile that the config file does not define,
// with the defined names closest to it.
func NotFoundError(name string) *ipc.Error {
	hint := "add a [profile " + name + "] section with mfa_serial and region, or pick another with --profile"
	if names, err := Names(); err == nil {
		if close := Closest(name, names); len(close) > 0 {
			hint = "did you mean " + strings.Join(close, " or ") + "? Otherwise " + hint
		}
	}
	return ipc.NewError(ipc.KindProfileNotFound, "no profile "+name+" in "+ConfigFile(), hint)
}

// Closest returns up to three of names that look like a mistyped name:
// within a few edits of it, or containing it; the closest first.
func Closest(name string, names []string) []string {
	type candidate struct {
		name string
		dist int
	}
	var found []candidate
	limit := max(2, len(name)/3)
	for _, n := range names {
		d := editDistance(strings.ToLower(name), strings.ToLower(n))
		if d <= limit || (len(name) >= 3 && strings.Contains(n, name)) {
			found = append(found, candidate{n, d})
		}
	}
	slices.SortStableFunc(found, func(a, b candidate) int { return a.dist - b.dist })
	var out []string
	for _, c := range found[:min(3, len(found))] {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Damerau-Levenshtein distance (restricted: adjacent
// transpositions count one), the number of typing slips between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Stamp identifies the config file's current content cheaply (its path,
// modification time and size), so that a reader can tell when to read it
// again.
func Stamp() string {
	path := configPath()
	fi, err := os.Stat(path)
	if err != nil {
		return path + "|absent"
	}
	return fmt.Sprintf("%s|%d|%d", path, fi.ModTime().UnixNano(), fi.Size())
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
