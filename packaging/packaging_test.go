package packaging

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSystemdUnitVerifies(t *testing.T) {
	bin, err := os.Executable() // any executable file will do for ExecStart
	if err != nil {
		t.Fatal(err)
	}
	unit, err := SystemdUnit(Service{Args: []string{bin, "serve", "--listen", "127.0.0.1:9911", "--profile", "my profile"}, Environment: []string{"A=b c"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=" + bin + ` serve --listen 127.0.0.1:9911 --profile "my profile"`, `Environment="A=b c"`, "Restart=on-failure", "StartLimitIntervalSec=0", "WantedBy=default.target"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze is needed (Debian systemd; .ci/install-deps installs it): %v", err)
	}
	socket, err := SystemdSocket("127.0.0.1:9911")
	if err != nil || !strings.Contains(socket, "ListenStream=127.0.0.1:9911\n") {
		t.Fatalf("socket unit: %v\n%s", err, socket)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "mfad.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mfad.socket"), []byte(socket), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path, filepath.Join(dir, "mfad.socket")).CombinedOutput()
	if err != nil || strings.Contains(string(out), "mfad.service:") || strings.Contains(string(out), "mfad.socket:") {
		t.Fatalf("systemd-analyze verify: %v\n%s\n%s\n%s", err, out, unit, socket)
	}
}

// plist is the subset of a property list the agent uses.
type plist struct {
	XMLName xml.Name `xml:"plist"`
	Version string   `xml:"version,attr"`
	Dict    struct {
		Items []struct {
			XMLName xml.Name
			Value   string   `xml:",chardata"`
			Strings []string `xml:"string"`
		} `xml:",any"`
	} `xml:"dict"`
}

func TestLaunchdPlistIsValid(t *testing.T) {
	args := []string{"/Applications/My Tools/mfad", "serve", "--profile", "a&b<c>", "--setenv"}
	text, err := LaunchdPlist(Service{Args: args, LogFile: "/Users/alice/Library/Logs/mfad.log"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, `<?xml version="1.0" encoding="UTF-8"?>`) || !strings.Contains(text, `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"`) {
		t.Fatalf("not a property list:\n%s", text)
	}
	var p plist
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = true
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, text)
	}
	// A dict alternates key and value.
	items := p.Dict.Items
	values := map[string]int{}
	for i := 0; i+1 < len(items); i += 2 {
		if items[i].XMLName.Local != "key" {
			t.Fatalf("item %d is a %s, want a key", i, items[i].XMLName.Local)
		}
		values[items[i].Value] = i + 1
	}
	for _, key := range []string{"Label", "ProgramArguments", "RunAtLoad", "KeepAlive", "StandardErrorPath"} {
		if _, ok := values[key]; !ok {
			t.Errorf("no %s", key)
		}
	}
	if got := items[values["Label"]].Value; got != Label {
		t.Errorf("Label %q", got)
	}
	if got := items[values["ProgramArguments"]].Strings; strings.Join(got, "|") != strings.Join(args, "|") {
		t.Errorf("ProgramArguments %q, want %q", got, args)
	}
	if items[values["RunAtLoad"]].XMLName.Local != "true" {
		t.Error("RunAtLoad is not true")
	}
}
