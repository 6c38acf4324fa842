//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/ststest"
)

// TestNoSecretLeaks drives every path (add, serve with debug logs, good,
// wrong, reused and failing unlocks, status, lock, remove) and then looks
// for the secrets involved in everything mfad printed and every file it
// could have written. Only the encrypted keyring may hold them.
func TestNoSecretLeaks(t *testing.T) {
	w := newWorld(t)
	tmp := filepath.Join(w.home, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	w.env = append(w.env, "TMPDIR="+tmp, "XDG_CONFIG_HOME="+filepath.Join(w.home, "config"), "XDG_CACHE_HOME="+filepath.Join(w.home, "cache"))

	var printed strings.Builder
	record := func(res result) result {
		printed.WriteString(res.stdout + res.stderr)
		return res
	}
	keyEnv := []string{"AWS_ACCESS_KEY_ID=" + w.user.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + w.user.SecretAccessKey}
	record(w.mfad("", keyEnv, "add", "--env", "default"))
	record(w.mfad("", keyEnv, "add", "--env", "default"))
	record(w.mfad("", nil, "list"))

	d, logs := w.serveLogged("--log-level", "debug")
	codes := []string{w.user.Code(time.Now()), w.user.Code(time.Now().Add(-time.Hour))}
	record(w.mfad("", nil, "unlock", "--code", codes[1]))
	record(w.mfad(codes[0]+"\n", nil, "unlock"))
	record(w.mfad("", nil, "unlock", "--renew", "--code", codes[0]))
	for _, fault := range []ststest.Fault{ststest.Throttle, ststest.InternalError, ststest.Garbage, ststest.DropConnection} {
		w.sts.SetFault(fault)
		code := w.user.Code(time.Now().Add(30 * time.Second))
		codes = append(codes, code)
		record(w.mfad("", nil, "unlock", "--renew", "--code", code))
	}
	w.sts.SetFault(ststest.NoFault)
	record(w.mfad("", nil, "unlock", "--profile", "nokeys", "--code", "123456"))
	record(w.mfad("", nil, "status"))
	record(w.mfad("", nil, "status", "--json"))
	record(w.mfad("", nil, "env"))
	if _, _, _, _, err := w.sdkCredentials(d.endpoint); err != nil {
		t.Fatalf("SDK: %v", err)
	}
	record(w.mfad("", nil, "lock"))
	record(w.mfad("", nil, "remove", "--yes", "default"))
	d.stop(t)

	issued := w.sts.Issued()
	if len(issued) != 1 {
		t.Fatalf("issued %d sessions", len(issued))
	}
	canaries := map[string]string{
		"access key ID":         w.user.AccessKeyID,
		"secret access key":     w.user.SecretAccessKey,
		"session key ID":        issued[0].AccessKeyID,
		"session secret":        issued[0].SecretAccessKey,
		"session token":         issued[0].SessionToken,
		"session token (start)": issued[0].SessionToken[:40],
	}
	for i, c := range codes {
		canaries["TOTP code "+string(rune('a'+i))] = c
	}
	check := func(where, text string) {
		for what, canary := range canaries {
			if strings.Contains(text, canary) {
				t.Errorf("%s shows the %s", where, what)
			}
		}
	}
	check("command output", printed.String())
	check("daemon log", logs.String())
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatal("the daemon log has no debug lines: the check proves little")
	}

	keyring := filepath.Join(w.home, "data", "mfad", "keyring")
	err := filepath.WalkDir(w.home, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Type()&fs.ModeSocket != 0 {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		check(path, string(data))
		if !strings.HasPrefix(path, keyring) && filepath.Base(path) != "aws-config" {
			t.Logf("file left: %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
