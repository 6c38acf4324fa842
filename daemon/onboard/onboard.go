// Package onboard sets up the IAM side of MFA for an IAM user, as
// `mfad init` walks them through it: the key in the keyring, a virtual MFA
// device enabled and written to the profile as mfa_serial, and a
// permissions boundary that denies everything without MFA. Every step is
// confirmed (or skipped), safe to run again, and leaves the account and
// the files as they were when it fails.
package onboard

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

// UI is how the flow talks with the user.
type UI interface {
	// Say tells the user what happened or what comes.
	Say(format string, args ...any)
	// Confirm asks a yes/no question; false skips the step.
	Confirm(question string) bool
	// Ask asks for one line (a key ID, a code).
	Ask(prompt string) (string, error)
	// AskSecret asks for a line that is not shown.
	AskSecret(prompt string) (string, error)
	// ShowQR shows the otpauth URI as a QR code, for an authenticator app.
	ShowQR(uri string)
	// ShowSeed says whether to print the device's secret too, for
	// password managers that cannot scan.
	ShowSeed() bool
}

// Options say what to set up.
type Options struct {
	Profile    string
	PolicyName string
	Store      KeyStore
	UI         UI
}

// Result is what the flow left in place.
type Result struct {
	UserARN   string
	MFASerial string
	Boundary  string
}

// Run walks through the steps for o.Profile.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.PolicyName == "" {
		o.PolicyName = DefaultPolicyName
	}
	keys, err := ensureKeys(o)
	if err != nil {
		return nil, err
	}
	profile, err := awsconfig.Load(ctx, o.Profile)
	if err != nil {
		return nil, err
	}
	creds := credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey.Reveal(), "")
	cfg, err := profile.SDKConfig(ctx, creds)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, awsError("could not check who the key belongs to", err, "check the key with `mfad add --force "+o.Profile+"`")
	}
	arn := aws.ToString(id.Arn)
	if strings.HasSuffix(arn, ":root") {
		return nil, ipc.NewError(ipc.KindBadRequest, "the key of profile "+o.Profile+" is the account's root key; mfad is for IAM users",
			"create an IAM user with its own access key (and delete the root key)")
	}
	_, userPart, ok := strings.Cut(arn, ":user/")
	if !ok {
		return nil, ipc.NewError(ipc.KindBadRequest, "the key of profile "+o.Profile+" belongs to "+arn+", not to an IAM user",
			"store the IAM user's long-term key with `mfad add --force "+o.Profile+"`")
	}
	user := userPart[strings.LastIndex(userPart, "/")+1:]
	account := aws.ToString(id.Account)
	o.UI.Say("The key of profile %s belongs to IAM user %s in account %s.", o.Profile, user, account)
	res := &Result{UserARN: arn}

	client := iam.NewFromConfig(cfg)
	if res.MFASerial, err = ensureDevice(ctx, o, client, user, account, profile.MFASerial); err != nil {
		return res, err
	}
	if res.Boundary, err = ensureBoundary(ctx, o, client, user, account); err != nil {
		return res, err
	}
	return res, nil
}

// KeyStore keeps the IAM user's keys (keystore.Store, or the daemon's).
type KeyStore interface {
	Keys(profile string) (keystore.Keys, error)
	PutKeys(profile string, k keystore.Keys) error
	Backend() string
}

// ensureKeys finds the profile's key in the keyring, or puts it there:
// from the credentials file when it is there, else as the user types it.
func ensureKeys(o Options) (keystore.Keys, error) {
	keys, err := o.Store.Keys(o.Profile)
	if err == nil {
		o.UI.Say("The keyring holds access key %s for profile %s.", secret.MaskKeyID(keys.AccessKeyID), o.Profile)
		return keys, nil
	}
	var e *ipc.Error
	if !errors.As(err, &e) || e.Kind != ipc.KindNoKeys {
		return keystore.Keys{}, err
	}
	if plain, err := awsconfig.ReadStaticKeys(o.Profile); err == nil && plain.SessionToken == "" {
		if o.UI.Confirm(fmt.Sprintf("Move the key of profile %s from %s into the keyring?", o.Profile, awsconfig.CredentialsFile())) {
			keys, err := keystore.ParseKeys(plain.AccessKeyID, plain.SecretAccessKey)
			if err != nil {
				return keystore.Keys{}, err
			}
			if err := o.Store.PutKeys(o.Profile, keys); err != nil {
				return keystore.Keys{}, err
			}
			o.UI.Say("Stored access key %s in the %s keyring.", secret.MaskKeyID(keys.AccessKeyID), o.Store.Backend())
			if o.UI.Confirm("Remove it from " + awsconfig.CredentialsFile() + " (AWS tools read that file before mfad)?") {
				if _, err := awsconfig.RemoveStaticKeys(o.Profile, false); err != nil {
					return keys, err
				}
				o.UI.Say("Removed it from %s.", awsconfig.CredentialsFile())
			}
			return keys, nil
		}
	}
	if !o.UI.Confirm("Type the IAM user's access key now?") {
		return keystore.Keys{}, keystore.NoKeysError(o.Profile)
	}
	id, err := o.UI.Ask("Access key ID")
	if err != nil {
		return keystore.Keys{}, err
	}
	secretKey, err := o.UI.AskSecret("Secret access key")
	if err != nil {
		return keystore.Keys{}, err
	}
	keys, err = keystore.ParseKeys(id, secretKey)
	if err != nil {
		return keystore.Keys{}, err
	}
	return keys, o.Store.PutKeys(o.Profile, keys)
}

// ensureDevice finds the user's MFA device, or creates and enables a
// virtual one, and writes it to the profile as mfa_serial.
func ensureDevice(ctx context.Context, o Options, client *iam.Client, user, account, configured string) (string, error) {
	list, err := client.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String(user)})
	if err != nil {
		return "", awsError("could not list the MFA devices of "+user, err, "the user needs iam:ListMFADevices on itself")
	}
	serial := ""
	if len(list.MFADevices) > 0 {
		serial = aws.ToString(list.MFADevices[0].SerialNumber)
		o.UI.Say("IAM user %s has MFA device %s.", user, serial)
	} else {
		if !o.UI.Confirm("IAM user " + user + " has no MFA device. Create a virtual one for your authenticator app?") {
			o.UI.Say("Skipped: without an MFA device there is nothing to unlock with.")
			return "", nil
		}
		if serial, err = createDevice(ctx, o, client, user, account); err != nil {
			return "", err
		}
	}
	if configured == serial {
		return serial, nil
	}
	if configured != "" && !o.UI.Confirm(fmt.Sprintf("Profile %s names mfa_serial %s. Replace it with %s?", o.Profile, configured, serial)) {
		return serial, nil
	}
	if err := awsconfig.SetValue(o.Profile, "mfa_serial", serial); err != nil {
		return serial, fmt.Errorf("the device is ready, but %s could not be updated: %w", awsconfig.ConfigFile(), err)
	}
	o.UI.Say("Wrote mfa_serial = %s to profile %s in %s.", serial, o.Profile, awsconfig.ConfigFile())
	return serial, nil
}

// createDevice creates a virtual MFA device, shows it for scanning, and
// enables it with two consecutive codes. A device that could not be
// enabled is deleted again.
func createDevice(ctx context.Context, o Options, client *iam.Client, user, account string) (string, error) {
	dev, err := client.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(user)})
	if err != nil {
		return "", awsError("could not create a virtual MFA device for "+user, err,
			"an administrator can grant iam:CreateVirtualMFADevice, or remove an unused device (IAM allows 8 per user)")
	}
	serial := aws.ToString(dev.VirtualMFADevice.SerialNumber)
	seed := string(dev.VirtualMFADevice.Base32StringSeed)
	uri := (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/AWS:" + user + "@" + account,
		RawQuery: url.Values{"secret": {seed}, "issuer": {"AWS"}}.Encode()}).String()
	o.UI.Say("Scan this QR code with your authenticator app:")
	o.UI.ShowQR(uri)
	if o.UI.ShowSeed() {
		o.UI.Say("Secret (base32), for apps that cannot scan: %s", seed)
	}
	undo := func(cause error) error {
		if _, err := client.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)}); err != nil {
			return fmt.Errorf("%w (and the half-made device %s could not be deleted: %v)", cause, serial, err)
		}
		return cause
	}
	code1, err := o.UI.Ask("First code the app shows")
	if err != nil {
		return "", undo(err)
	}
	code2, err := o.UI.Ask("Next code (wait for it to change)")
	if err != nil {
		return "", undo(err)
	}
	_, err = client.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String(user), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(strings.TrimSpace(code1)), AuthenticationCode2: aws.String(strings.TrimSpace(code2))})
	if err != nil {
		return "", undo(awsError("could not enable the MFA device", err, "run `mfad init` again and type two codes in a row, as the app shows them"))
	}
	o.UI.Say("Enabled MFA device %s.", serial)
	return serial, nil
}

// ensureBoundary makes the boundary policy the user's permissions boundary.
func ensureBoundary(ctx context.Context, o Options, client *iam.Client, user, account string) (string, error) {
	policyARN := "arn:aws:iam::" + account + ":policy/" + o.PolicyName
	got, err := client.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(user)})
	if err != nil {
		return "", awsError("could not read IAM user "+user, err, "the user needs iam:GetUser on itself")
	}
	if b := got.User.PermissionsBoundary; b != nil && aws.ToString(b.PermissionsBoundaryArn) != "" {
		current := aws.ToString(b.PermissionsBoundaryArn)
		if current == policyARN {
			o.UI.Say("MFA is enforced: %s is %s's permissions boundary.", o.PolicyName, user)
			return current, nil
		}
		return current, ipc.NewError(ipc.KindBadRequest,
			"IAM user "+user+" already has permissions boundary "+current+"; mfad does not replace it",
			"add the MFA condition to that policy yourself; `mfad init` shows the policy it would use")
	}
	o.UI.Say("This permissions boundary allows everything only with MFA; without MFA, only what it takes to manage your own MFA device and password:\n%s", boundaryPolicy)
	if !o.UI.Confirm("Create it as policy " + o.PolicyName + " and make it " + user + "'s permissions boundary?") {
		o.UI.Say("Skipped: MFA is not enforced.")
		return "", nil
	}
	created := false
	if _, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyARN)}); err == nil {
		ver, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(policyARN), VersionId: aws.String("v1")})
		if err != nil {
			return "", awsError("could not read policy "+o.PolicyName, err, "")
		}
		doc, _ := url.QueryUnescape(aws.ToString(ver.PolicyVersion.Document))
		if !sameDocument(doc, boundaryPolicy) {
			return "", ipc.NewError(ipc.KindBadRequest, "a policy named "+o.PolicyName+" exists with another document; nothing was changed",
				"choose another name with --policy-name")
		}
	} else {
		if _, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(o.PolicyName), PolicyDocument: aws.String(boundaryPolicy),
			Description: aws.String("Allows everything only with MFA (written by mfad init)")}); err != nil {
			return "", awsError("could not create policy "+o.PolicyName, err, "an administrator can grant iam:CreatePolicy, or create it from `mfad init`'s output")
		}
		created = true
	}
	if _, err := client.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String(user), PermissionsBoundary: aws.String(policyARN)}); err != nil {
		err = awsError("could not make "+o.PolicyName+" the permissions boundary of "+user, err, "an administrator can grant iam:PutUserPermissionsBoundary")
		if created {
			if _, delErr := client.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policyARN)}); delErr != nil {
				return "", fmt.Errorf("%w (and policy %s could not be deleted again: %v)", err, policyARN, delErr)
			}
		}
		return "", err
	}
	o.UI.Say("MFA is enforced: %s is now %s's permissions boundary. To undo it, from an MFA session: mfad exec %s -- aws iam delete-user-permissions-boundary --user-name %s",
		o.PolicyName, user, o.Profile, user)
	return policyARN, nil
}

// awsError turns an AWS failure into advice, with AWS's own code and words.
func awsError(what string, err error, hint string) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		msg := what + ": " + apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
		switch apiErr.ErrorCode() {
		case "AccessDenied", "AccessDeniedException":
			if hint == "" {
				hint = "ask an administrator for the permission AWS names"
			}
		case "LimitExceeded":
			hint = "remove an MFA device you no longer use (IAM console → Users → Security credentials), then run `mfad init` again"
		}
		return ipc.NewError(ipc.KindSTS, msg, hint)
	}
	return ipc.NewError(ipc.KindSTS, what+": "+err.Error(), "check your network connection, then run `mfad init` again")
}
