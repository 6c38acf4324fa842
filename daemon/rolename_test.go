package daemon

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestRoleName: the IMDS role path lists the profile's name when it is a
// valid IAM role name, which botocore can put into a URL as it is, and
// "mfad" otherwise; the check agrees with IAM's pattern on names of every
// kind.
func TestRoleName(t *testing.T) {
	for profile, want := range map[string]string{
		"default":                "default",
		"dev_team+ops=1,2.x@y-z": "dev_team+ops=1,2.x@y-z",
		strings.Repeat("a", 64):  strings.Repeat("a", 64),
		strings.Repeat("a", 65):  "mfad",
		"":                       "mfad",
		"my profile":             "mfad",
		"prod/admin":             "mfad",
		"naïve":                  "mfad",
		"a\n":                    "mfad",
		"../x":                   "mfad",
		"x?y":                    "mfad",
	} {
		if got := roleName(profile); got != want {
			t.Errorf("roleName(%q) = %q, want %q", profile, got, want)
		}
	}
	iam := regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	alphabet := []byte("aZ09_+=,.@- /?#%\n\x00\xc3\xa9:")
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(70))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if got, want := isRoleName(string(b)), iam.Match(b); got != want {
			t.Fatalf("isRoleName(%q) = %v, IAM's pattern says %v", b, got, want)
		}
	}
}
