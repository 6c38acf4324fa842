// Package awssts calls AWS STS for mfad and turns its failures into advice
// a person can act on.
package awssts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

// Credentials are temporary credentials from STS.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey secret.Value
	SessionToken    secret.Value
	Expiration      time.Time
}

// SessionTokenRequest asks for an MFA session.
type SessionTokenRequest struct {
	Profile  *awsconfig.Profile
	Keys     keystore.Keys
	Code     secret.Value
	Duration time.Duration
}

// DefaultTimeout bounds one call to STS.
const DefaultTimeout = 15 * time.Second

// Client calls STS. The zero value is ready to use.
type Client struct {
	// Timeout bounds each call; zero means DefaultTimeout.
	Timeout time.Duration
}

// GetSessionToken trades long-term keys and a TOTP code for session
// credentials. It makes exactly one attempt: a retry would send the same
// code again, which STS refuses as invalid.
func (c *Client) GetSessionToken(ctx context.Context, req SessionTokenRequest) (Credentials, error) {
	ctx, cancel, timeout := c.bound(ctx)
	defer cancel()
	client, err := stsClient(ctx, req.Profile, req.Keys.AccessKeyID, req.Keys.SecretAccessKey, secret.Value{}, aws.NopRetryer{})
	if err != nil {
		return Credentials{}, err
	}
	out, err := client.GetSessionToken(ctx, &sts.GetSessionTokenInput{
		SerialNumber:    aws.String(req.Profile.MFASerial),
		TokenCode:       aws.String(req.Code.Reveal()),
		DurationSeconds: aws.Int32(int32(req.Duration / time.Second)),
	})
	if err != nil {
		return Credentials{}, advise(err, req, timeout, time.Now())
	}
	return fromSDK(out.Credentials)
}

// fromSDK takes credentials out of an STS answer.
func fromSDK(c *types.Credentials) (Credentials, error) {
	if c == nil || c.AccessKeyId == nil || c.Expiration == nil {
		return Credentials{}, ipc.NewError(ipc.KindSTS, "STS answered without credentials", "try again; if it persists, check AWS_ENDPOINT_URL_STS")
	}
	return Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: secret.New(aws.ToString(c.SecretAccessKey)),
		SessionToken:    secret.New(aws.ToString(c.SessionToken)),
		Expiration:      aws.ToTime(c.Expiration),
	}, nil
}

// bound gives ctx the client's timeout.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, timeout
}

// stsClient is an STS client for profile that signs with the given
// credentials only; a nil retryer keeps the SDK's.
func stsClient(ctx context.Context, p *awsconfig.Profile, keyID string, secretKey, token secret.Value, retryer aws.Retryer) (*sts.Client, error) {
	cfg, err := p.SDKConfig(ctx, credentials.NewStaticCredentialsProvider(keyID, secretKey.Reveal(), token.Reveal()))
	if err != nil {
		return nil, err
	}
	if retryer != nil {
		cfg.Retryer = func() aws.Retryer { return retryer }
	}
	if cfg.Region == "" {
		// STS's global endpoint lives in us-east-1.
		cfg.Region = "us-east-1"
	}
	return sts.NewFromConfig(cfg), nil
}

// serverTime compiles on first use (a clock-skew error), not at every start.
var serverTime = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\((\d{8}T\d{6}Z) [-+] 15 min\.\)`) })

// advise turns an STS failure into one line that says what happened and a
// hint that says what to do.
func advise(err error, req SessionTokenRequest, timeout time.Duration, now time.Time) error {
	profile := req.Profile.Name
	key := secret.MaskKeyID(req.Keys.AccessKeyID)
	stsErr := func(msg, hint string) error { return ipc.NewError(ipc.KindSTS, msg, hint) }

	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, msg := apiErr.ErrorCode(), apiErr.ErrorMessage()
		switch {
		case code == "AccessDenied" && strings.Contains(msg, "invalid MFA one time pass code"):
			return ipc.NewError(ipc.KindInvalidCode,
				"AWS refused the MFA code: it is wrong, expired, or was already used",
				"wait for your authenticator to show the next code, then run `mfad unlock` again")
		case code == "AccessDenied" && strings.Contains(msg, "unable to validate MFA code"):
			return stsErr("AWS could not check the code against mfa_serial "+req.Profile.MFASerial+" of profile "+profile,
				"set mfa_serial in "+awsconfig.ConfigFile()+" to the ARN of this IAM user's MFA device (IAM console → Users → Security credentials)")
		case code == "AccessDenied" && strings.Contains(msg, "with session credentials"):
			return stsErr("the key stored for profile "+profile+" ("+key+") is a temporary session key",
				"store the IAM user's long-term key (AKIA…) with `mfad add --force "+profile+"`")
		case code == "InvalidClientTokenId":
			return stsErr("AWS does not know access key "+key+" of profile "+profile+": it was deleted or deactivated",
				"create a new access key for the IAM user and store it with `mfad add --force "+profile+"`")
		case code == "SignatureDoesNotMatch" && (strings.Contains(msg, "Signature expired") || strings.Contains(msg, "Signature not yet current")):
			return stsErr("AWS refused the request because this computer's clock is wrong"+skew(msg, now),
				"set the clock right (for example `timedatectl set-ntp true`), then unlock again")
		case code == "SignatureDoesNotMatch":
			return stsErr("AWS refused the secret access key stored for "+key+" of profile "+profile,
				"store the right secret with `mfad add --force "+profile+"`")
		case code == "Throttling" || code == "ThrottlingException" || code == "RequestLimitExceeded":
			return stsErr("AWS is throttling requests to STS", "wait a minute, then unlock with a new code")
		case code == "RegionDisabledException":
			return stsErr("STS is not enabled in region "+req.Profile.Region+" for this account",
				"activate STS for the region in IAM → Account settings, or set another region for profile "+profile)
		case code == "ValidationError":
			return stsErr("STS refused the request: "+msg, "")
		}
		return stsErr(fmt.Sprintf("STS failed: %s: %s", code, msg), "")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return stsErr(fmt.Sprintf("STS did not answer within %s", timeout),
			"check your network connection; the code may have been used, so wait for the next one")
	}
	var garbled *smithy.DeserializationError
	if errors.As(err, &garbled) {
		return stsErr("the answer from STS is not an STS response ("+rootCause(garbled)+")",
			"a proxy or a wrong AWS_ENDPOINT_URL_STS may stand in the way; wait for the next code and try again")
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		endpoint := urlErr.URL
		if u, perr := url.Parse(endpoint); perr == nil {
			endpoint = u.Scheme + "://" + u.Host
		}
		if errors.Is(urlErr.Err, io.EOF) || errors.Is(urlErr.Err, io.ErrUnexpectedEOF) {
			return stsErr("STS at "+endpoint+" closed the connection without answering",
				"the code may have been used: wait for the next one, then unlock again")
		}
		return stsErr("could not reach STS at "+endpoint+": "+rootCause(urlErr.Err),
			"check your network connection (and AWS_ENDPOINT_URL_STS, if set), then unlock with the next code")
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return stsErr("could not reach STS: "+err.Error(), "check your network connection, then unlock with the next code")
	}
	return stsErr("STS call failed: "+err.Error(), "wait for the next code and try again")
}

// rootCause is the innermost error's text: "connection refused" rather
// than the chain of operations that led to it.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// skew reads AWS's time from a "Signature expired" message and says how far
// this computer's clock is from it.
func skew(msg string, now time.Time) string {
	m := serverTime().FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	aws, err := time.Parse("20060102T150405Z", m[1])
	if err != nil {
		return ""
	}
	// AWS only refuses skews over 15 minutes; whole minutes say enough.
	d := now.Sub(aws).Round(time.Minute)
	if d < 0 {
		return fmt.Sprintf(" (%s behind AWS)", -d)
	}
	return fmt.Sprintf(" (%s ahead of AWS)", d)
}

// AssumeRoleRequest asks for a role's credentials.
type AssumeRoleRequest struct {
	// Profile is the role profile: its role, and its region and endpoints.
	Profile *awsconfig.Profile
	// Caller are the credentials that assume the role: the MFA session's,
	// or the previous role's in a chain.
	Caller Credentials
	// SessionName names the role session; it appears in CloudTrail.
	SessionName string
}

// AssumeRole assumes the profile's role with the caller's credentials.
// An MFA session's credentials carry aws:MultiFactorAuthPresent into the
// role session, so a role that requires MFA needs no new code.
func (c *Client) AssumeRole(ctx context.Context, req AssumeRoleRequest) (Credentials, error) {
	ctx, cancel, timeout := c.bound(ctx)
	defer cancel()
	role := req.Profile.Role
	// AssumeRole may be retried: it carries no one-time code.
	client, err := stsClient(ctx, req.Profile, req.Caller.AccessKeyID, req.Caller.SecretAccessKey, req.Caller.SessionToken, nil)
	if err != nil {
		return Credentials{}, err
	}
	in := &sts.AssumeRoleInput{RoleArn: aws.String(role.ARN), RoleSessionName: aws.String(req.SessionName)}
	if role.ExternalID != "" {
		in.ExternalId = aws.String(role.ExternalID)
	}
	if d := req.Profile.SessionDuration; d > 0 {
		in.DurationSeconds = aws.Int32(int32(d / time.Second))
	}
	out, err := client.AssumeRole(ctx, in)
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDenied" {
			return Credentials{}, ipc.NewError(ipc.KindSTS,
				"AWS refused to let profile "+req.Profile.Name+" assume "+role.ARN+": "+apiErr.ErrorMessage(),
				"the role's trust policy must allow the IAM user (with MFA), with the external_id the profile sets")
		}
		if errors.As(err, &apiErr) && strings.Contains(apiErr.ErrorMessage(), "MaxSessionDuration") {
			return Credentials{}, ipc.NewError(ipc.KindBadRequest,
				fmt.Sprintf("duration_seconds = %d in profile %s is longer than role %s allows: %s",
					int(req.Profile.SessionDuration/time.Second), req.Profile.Name, role.ARN, apiErr.ErrorMessage()),
				"lower duration_seconds in "+awsconfig.ConfigFile()+" to the role's maximum session duration (IAM console → Roles), or remove it for one hour")
		}
		return Credentials{}, advise(err, SessionTokenRequest{Profile: req.Profile, Keys: keystore.Keys{AccessKeyID: req.Caller.AccessKeyID}}, timeout, time.Now())
	}
	return fromSDK(out.Credentials)
}
