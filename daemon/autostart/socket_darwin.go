package autostart

// On macOS the agent listens itself: launchd's Sockets need
// launch_activate_socket, which takes cgo.

func installSocket(Settings) (string, error) { return "", nil }
func enableSocket() error                    { return nil }
func controlSocket(string) error             { return nil }
func removeSocket() error                    { return nil }
func checkManager() error                    { return nil }

func socketPath() string      { return "" }
func environmentFile() string { return "" }
