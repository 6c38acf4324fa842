package autostart

// On macOS the agent itself runs `launchctl setenv` when it starts
// (`mfad serve --setenv`): the GUI session gets the variable from launchd,
// and there is no file to write.
func writeSessionEnvironment(string) (string, error) { return "", nil }

func removeSessionEnvironment() error { return nil }
