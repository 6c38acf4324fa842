package keystore

import (
	"regexp"
	"strings"
	"sync"

	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/ipc"
)

// Keys are an IAM user's long-term access keys.
type Keys struct {
	AccessKeyID     string
	SecretAccessKey secret.Value
}

// The patterns compile on first use, not at package init: every mfad
// process, the daemon included, would pay for them at start.
var (
	longTermKeyID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`) })
	secretKey     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9/+]{40}$`) })
)

// ParseKeys trims id and secretKey and checks that they look like an IAM
// user's long-term access key, so a typo or a pasted session key is caught
// before anything is stored.
func ParseKeys(id, secretAccessKey string) (Keys, error) {
	id, secretAccessKey = strings.TrimSpace(id), strings.TrimSpace(secretAccessKey)
	switch {
	case strings.HasPrefix(id, "ASIA"):
		return Keys{}, ipc.NewError(ipc.KindBadRequest,
			"access key ID "+secret.MaskKeyID(id)+" is a temporary session key (ASIA…)",
			"store the IAM user's long-term access key, which starts with AKIA: IAM console → Users → Security credentials")
	case !longTermKeyID().MatchString(id):
		return Keys{}, ipc.NewError(ipc.KindBadRequest,
			"that does not look like an access key ID: expected AKIA followed by 16 letters and digits",
			"copy the access key ID of the IAM user (IAM console → Users → Security credentials)")
	case !secretKey().MatchString(secretAccessKey):
		return Keys{}, ipc.NewError(ipc.KindBadRequest,
			"that does not look like a secret access key: expected 40 characters of letters, digits, / and +",
			"copy the secret access key that was shown once when the access key was created")
	}
	return Keys{AccessKeyID: id, SecretAccessKey: secret.New(secretAccessKey)}, nil
}

// Fixed is a read-only keystore held in memory, for tests and for keys
// that come from elsewhere.
type Fixed map[string]Keys

// Keys returns the keys for profile, or the error Store.Keys gives when
// there are none.
func (f Fixed) Keys(profile string) (Keys, error) {
	if k, ok := f[profile]; ok {
		return k, nil
	}
	return Keys{}, NoKeysError(profile)
}
