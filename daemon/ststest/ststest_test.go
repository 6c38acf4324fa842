package ststest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/pquerna/otp/totp"
)

func client(srv *Server, id, secretKey, token string) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(id, secretKey, token),
		Retryer:      aws.NopRetryer{},
	})
}

func getSessionToken(c *sts.Client, serial, code string) (*sts.GetSessionTokenOutput, error) {
	return c.GetSessionToken(context.Background(), &sts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(code)})
}

func wantAPIError(t *testing.T, err error, code, message string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code || apiErr.ErrorMessage() != message {
		t.Fatalf("got %v, want %s: %s", err, code, message)
	}
}

func TestCodes(t *testing.T) {
	u := NewUser("123456789012", "alice")
	srv := NewServer(u)
	defer srv.Close()
	c := client(srv, u.AccessKeyID, u.SecretAccessKey, "")

	code := u.Code(time.Now())
	out, err := getSessionToken(c, u.MFASerial, code)
	if err != nil {
		t.Fatal(err)
	}
	// A code is good once.
	_, err = getSessionToken(c, u.MFASerial, code)
	wantAPIError(t, err, "AccessDenied", errInvalidCode.message)
	// A code from ten minutes ago is no good.
	_, err = getSessionToken(c, u.MFASerial, u.Code(time.Now().Add(-10*time.Minute)))
	wantAPIError(t, err, "AccessDenied", errInvalidCode.message)
	_, err = getSessionToken(c, "arn:aws:iam::123456789012:mfa/mallory", u.Code(time.Now()))
	wantAPIError(t, err, "AccessDenied", errWrongSerial.message)
	_, err = getSessionToken(c, u.MFASerial, "12345a")
	wantAPIError(t, err, "ValidationError", "1 validation error detected: Value '12345a' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*")

	// Session credentials cannot start another session.
	sc := out.Credentials
	_, err = getSessionToken(client(srv, *sc.AccessKeyId, *sc.SecretAccessKey, *sc.SessionToken), u.MFASerial, u.Code(time.Now().Add(30*time.Second)))
	wantAPIError(t, err, "AccessDenied", errSessionCreds.message)
}

func TestAuthentication(t *testing.T) {
	u := NewUser("123456789012", "alice")
	srv := NewServer(u)
	defer srv.Close()
	_, err := getSessionToken(client(srv, "AKIAUNKNOWNUNKNOWN00", u.SecretAccessKey, ""), u.MFASerial, u.Code(time.Now()))
	wantAPIError(t, err, "InvalidClientTokenId", errUnknownKey.message)
	_, err = getSessionToken(client(srv, u.AccessKeyID, "wrong", ""), u.MFASerial, u.Code(time.Now()))
	wantAPIError(t, err, "SignatureDoesNotMatch", errBadSignature.message)
	if len(srv.Issued()) != 0 {
		t.Fatal("credentials issued to a bad signature")
	}
}

func TestSessionCredentials(t *testing.T) {
	u := NewUser("123456789012", "alice")
	srv := NewServer(u)
	defer srv.Close()
	out, err := getSessionToken(client(srv, u.AccessKeyID, u.SecretAccessKey, ""), u.MFASerial, u.Code(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	id, err := client(srv, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *id.Arn != "arn:aws:iam::123456789012:user/alice" || *id.Account != "123456789012" {
		t.Fatalf("identity %s %s", *id.Arn, *id.Account)
	}
	if calls := srv.Calls(); calls[len(calls)-1].AccessKeyID != *c.AccessKeyId || calls[len(calls)-1].Region != "us-east-1" {
		t.Fatalf("call recorded as %+v", calls[len(calls)-1])
	}
	_, err = client(srv, *c.AccessKeyId, *c.SecretAccessKey, "wrong-token").GetCallerIdentity(context.Background(), nil)
	wantAPIError(t, err, "InvalidClientTokenId", errUnknownKey.message)

	srv.SetClock(func() time.Time { return c.Expiration.Add(time.Second) })
	_, err = client(srv, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(context.Background(), nil)
	wantAPIError(t, err, "ExpiredToken", errExpiredToken.message)
}

func TestSessionLifetime(t *testing.T) {
	u := NewUser("123456789012", "alice")
	srv := NewServer(u)
	defer srv.Close()
	srv.SetSessionLifetime(10 * time.Minute)
	out, err := getSessionToken(client(srv, u.AccessKeyID, u.SecretAccessKey, ""), u.MFASerial, u.Code(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(*out.Credentials.Expiration); d > 10*time.Minute || d < 9*time.Minute {
		t.Fatalf("session lasts %s", d)
	}
}

func TestAssumeRole(t *testing.T) {
	u := NewUser("123456789012", "alice")
	srv := NewServer(u)
	defer srv.Close()
	srv.AddRole(Role{ARN: "arn:aws:iam::210987654321:role/admin", RequireMFA: true})
	srv.AddRole(Role{ARN: "arn:aws:iam::210987654321:role/partner", ExternalID: "xyz"})
	assume := func(c *sts.Client, arn, external string) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("test")}
		if external != "" {
			in.ExternalId = aws.String(external)
		}
		return c.AssumeRole(context.Background(), in)
	}
	longTerm := client(srv, u.AccessKeyID, u.SecretAccessKey, "")
	denied := "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: "
	_, err := assume(longTerm, "arn:aws:iam::210987654321:role/admin", "")
	wantAPIError(t, err, "AccessDenied", denied+"arn:aws:iam::210987654321:role/admin")

	out, err := getSessionToken(longTerm, u.MFASerial, u.Code(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	mfa := client(srv, *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	role, err := assume(mfa, "arn:aws:iam::210987654321:role/admin", "")
	if err != nil {
		t.Fatal(err)
	}
	if *role.AssumedRoleUser.Arn != "arn:aws:sts::210987654321:assumed-role/admin/test" {
		t.Errorf("assumed %s", *role.AssumedRoleUser.Arn)
	}
	issued := srv.Issued()
	if last := issued[len(issued)-1]; last.Caller != *out.Credentials.AccessKeyId || !last.MFA || last.Role != "arn:aws:iam::210987654321:role/admin" {
		t.Errorf("recorded %+v", last)
	}
	_, err = assume(mfa, "arn:aws:iam::210987654321:role/partner", "wrong")
	wantAPIError(t, err, "AccessDenied", denied+"arn:aws:iam::210987654321:role/partner")
	if _, err := assume(mfa, "arn:aws:iam::210987654321:role/partner", "xyz"); err != nil {
		t.Fatal(err)
	}
	// Chained: the role's credentials assume another role, MFA carried along.
	chained := client(srv, *role.Credentials.AccessKeyId, *role.Credentials.SecretAccessKey, *role.Credentials.SessionToken)
	if _, err := assume(chained, "arn:aws:iam::210987654321:role/admin", ""); err != nil {
		t.Fatalf("chained: %v", err)
	}
	_, err = assume(mfa, "arn:aws:iam::210987654321:role/unknown", "")
	wantAPIError(t, err, "AccessDenied", denied+"arn:aws:iam::210987654321:role/unknown")
}

func TestIAMForInit(t *testing.T) {
	u := NewUser("123456789012", "alice").WithoutMFA()
	srv := NewServer(u)
	defer srv.Close()
	c := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(u.AccessKeyID, u.SecretAccessKey, ""), Retryer: aws.NopRetryer{}})
	ctx := context.Background()
	list, err := c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("alice")})
	if err != nil || len(list.MFADevices) != 0 {
		t.Fatalf("devices %v %v", list, err)
	}
	dev, err := c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	serial, seed := *dev.VirtualMFADevice.SerialNumber, string(dev.VirtualMFADevice.Base32StringSeed)
	if serial != "arn:aws:iam::123456789012:mfa/alice" || srv.DeviceSeed(serial) != seed {
		t.Fatalf("device %s seed %q", serial, seed)
	}
	now := time.Now()
	code := func(t0 time.Time) string { c, _ := totp.GenerateCode(seed, t0); return c }
	_, err = c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: &serial,
		AuthenticationCode1: aws.String(code(now)), AuthenticationCode2: aws.String(code(now))})
	wantAPIError(t, err, "InvalidAuthenticationCode", "Authentication code for device is not valid.")
	if _, err = c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: &serial,
		AuthenticationCode1: aws.String(code(now)), AuthenticationCode2: aws.String(code(now.Add(30 * time.Second)))}); err != nil {
		t.Fatal(err)
	}
	// The device now guards GetSessionToken.
	if _, err := getSessionToken(client(srv, u.AccessKeyID, u.SecretAccessKey, ""), serial, code(now.Add(-30*time.Second))); err != nil {
		t.Fatalf("session with the new device: %v", err)
	}
	pol, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("MfaRequired"), PolicyDocument: aws.String(`{"Version":"2012-10-17"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("alice"), PermissionsBoundary: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	user, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	if err != nil || user.User.PermissionsBoundary == nil || *user.User.PermissionsBoundary.PermissionsBoundaryArn != *pol.Policy.Arn {
		t.Fatalf("user %+v %v", user, err)
	}
	ver, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: pol.Policy.Arn, VersionId: aws.String("v1")})
	if err != nil || *ver.PolicyVersion.Document != "%7B%22Version%22%3A%222012-10-17%22%7D" {
		t.Fatalf("version %v %v", ver, err)
	}
	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("MfaRequired"), PolicyDocument: aws.String(`{}`)})
	wantAPIError(t, err, "EntityAlreadyExists", "A policy called MfaRequired already exists. Duplicate names are not allowed.")
	if got := srv.Mutations(); len(got) != 4 {
		t.Fatalf("mutations %q", got)
	}
}
