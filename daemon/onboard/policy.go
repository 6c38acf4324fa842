package onboard

import (
	"bytes"
	"encoding/json"
)

// DefaultPolicyName names the permissions boundary init creates.
const DefaultPolicyName = "MfaRequired"

// boundaryPolicy allows everything only with MFA. A permissions boundary
// caps what the user's own policies grant, so without MFA the user keeps
// just what it takes to get MFA back: managing their own MFA device and
// password, and asking STS for a session.
const boundaryPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AllowEverythingWithMFA",
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*",
      "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    },
    {
      "Sid": "AllowOwnMFAAndPasswordWithoutMFA",
      "Effect": "Allow",
      "Action": [
        "iam:GetUser",
        "iam:ListMFADevices",
        "iam:ListVirtualMFADevices",
        "iam:CreateVirtualMFADevice",
        "iam:EnableMFADevice",
        "iam:ResyncMFADevice",
        "iam:ChangePassword",
        "iam:GetAccountPasswordPolicy"
      ],
      "Resource": [
        "arn:aws:iam::*:user/${aws:username}",
        "arn:aws:iam::*:mfa/${aws:username}",
        "arn:aws:iam::*:mfa/*"
      ]
    },
    {
      "Sid": "AllowSessionsWithoutMFA",
      "Effect": "Allow",
      "Action": ["sts:GetSessionToken", "sts:GetCallerIdentity"],
      "Resource": "*"
    }
  ]
}`

// BoundaryPolicy is the policy document init attaches as the boundary.
func BoundaryPolicy() string { return boundaryPolicy }

// sameDocument reports whether two policy documents say the same, however
// they are laid out.
func sameDocument(a, b string) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, []byte(a)) != nil || json.Compact(&cb, []byte(b)) != nil {
		return a == b
	}
	var va, vb any
	if json.Unmarshal(ca.Bytes(), &va) != nil || json.Unmarshal(cb.Bytes(), &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}
