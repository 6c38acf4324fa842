// Package secret holds values that must never reach a log, an error message
// or a plain file: secret access keys, session tokens, one-time codes.
package secret

import (
	"log/slog"
	"strings"
)

const redacted = "[redacted]"

// Value is a secret string. Every way of formatting it (fmt verbs, slog,
// JSON) prints "[redacted]"; only Reveal gives the value, so each place
// that needs it is visible in the code.
type Value struct{ v string }

// New wraps s.
func New(s string) Value { return Value{s} }

// Reveal returns the secret itself.
func (v Value) Reveal() string { return v.v }

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.v == "" }

func (Value) String() string               { return redacted }
func (Value) GoString() string             { return redacted }
func (Value) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MaskKeyID shows an access key ID the way the AWS console does: all but the
// last four characters hidden.
func MaskKeyID(id string) string {
	if len(id) <= 4 {
		return strings.Repeat("*", len(id))
	}
	return strings.Repeat("*", len(id)-4) + id[len(id)-4:]
}
