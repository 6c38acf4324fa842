// Package packaging holds the files that install mfad as a login service,
// one source for every path that writes them: `mfad service install`, the
// .deb and .rpm packages (nfpm.yaml) and the release builds
// (.goreleaser.yaml).
package packaging

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"strconv"
	"strings"
	"text/template"
)

var (
	//go:embed systemd/mfad.service.tmpl
	systemdUnit string
	//go:embed systemd/mfad.socket.tmpl
	systemdSocket string
	//go:embed launchd/mfad.plist.tmpl
	launchdPlist string
)

// Service is what a login service runs.
type Service struct {
	// Args is the command line: the mfad binary's absolute path, then
	// "serve" and its flags.
	Args []string
	// Environment holds NAME=value pairs for the daemon's environment.
	Environment []string
	// LogFile is where launchd sends the daemon's log (macOS).
	LogFile string
}

// Label names the service to launchd.
const Label = "dev.mfad.mfad"

// SystemdUnit renders the systemd user unit for s.
func SystemdUnit(s Service) (string, error) {
	quoted := make([]string, len(s.Args))
	for i, a := range s.Args {
		quoted[i] = systemdQuote(a)
	}
	env := make([]string, len(s.Environment))
	for i, e := range s.Environment {
		env[i] = systemdQuote(e)
	}
	return render(systemdUnit, map[string]any{"ExecStart": strings.Join(quoted, " "), "Environment": env})
}

// SystemdSocket renders the systemd user socket unit that holds the IMDS
// endpoint's address listen (a literal host:port) and passes it to the
// service (socket activation).
func SystemdSocket(listen string) (string, error) {
	return render(systemdSocket, map[string]any{"Listen": listen})
}

// LaunchdPlist renders the launchd agent for s.
func LaunchdPlist(s Service) (string, error) {
	return render(launchdPlist, map[string]any{"Label": Label, "Args": s.Args, "LogFile": s.LogFile})
}

func render(text string, data any) (string, error) {
	t, err := template.New("").Funcs(template.FuncMap{"xml": xmlEscape}).Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, data)
	return b.String(), err
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// systemdQuote quotes a word for ExecStart= or Environment= when it needs
// it; systemd reads C-style double-quoted strings, and % starts a specifier.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;$") {
		return s
	}
	return strconv.Quote(s)
}
