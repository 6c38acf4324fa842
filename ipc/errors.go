package ipc

import "errors"

// AlreadyRunningError is returned by Listen when another daemon holds the socket.
type AlreadyRunningError struct{ Socket string }

func (e *AlreadyRunningError) Error() string {
	return "mfad is already running (socket " + e.Socket + ")"
}

// Hint says what to do instead of starting a second daemon.
func (e *AlreadyRunningError) Hint() string {
	return "use the running daemon (`mfad status`), or stop it first"
}

// IsKind reports whether err is an *Error of kind.
func IsKind(err error, kind string) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// HintOf returns the advice err carries, if any: an *Error's hint, or
// what a Hint method says.
func HintOf(err error) string {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Hint
	}
	var hinter interface{ Hint() string }
	if errors.As(err, &hinter) {
		return hinter.Hint()
	}
	return ""
}
