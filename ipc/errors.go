package ipc

// AlreadyRunningError is returned by Listen when another daemon holds the socket.
type AlreadyRunningError struct{ Socket string }

func (e *AlreadyRunningError) Error() string {
	return "mfad is already running (socket " + e.Socket + ")"
}

// Hint says what to do instead of starting a second daemon.
func (e *AlreadyRunningError) Hint() string {
	return "use the running daemon (`mfad status`), or stop it first"
}
