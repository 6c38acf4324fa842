//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImport(t *testing.T) {
	w := newWorld(t)
	creds := filepath.Join(w.home, "credentials")
	w.unsetEnv("AWS_SHARED_CREDENTIALS_FILE")
	w.env = append(w.env, "AWS_SHARED_CREDENTIALS_FILE="+creds)
	original := "# my keys\n[other]\naws_access_key_id = not-a-key\naws_secret_access_key = " + strings.Repeat("o", 40) + "\n\n" +
		"[default]\n# alice, hub account\naws_access_key_id = " + w.user.AccessKeyID + "\naws_secret_access_key = " + w.user.SecretAccessKey + "\nregion = eu-west-1\n\n" +
		"[temp]\naws_access_key_id = ASIATEMPTEMPTEMPTEMP\naws_secret_access_key = " + strings.Repeat("t", 40) + "\naws_session_token = tok\n"
	writeFile(t, creds, original)

	// Without a terminal and without --yes, the plain file is not touched.
	res := w.mfad("", nil, "import", "default")
	if res.exit != 0 || !strings.Contains(res.stdout, "stored access key") || !strings.Contains(res.stderr, "still holds the key in plain text") {
		t.Fatalf("import without confirmation: %+v", res)
	}
	if data, _ := os.ReadFile(creds); string(data) != original {
		t.Fatalf("the file changed without confirmation:\n%s", data)
	}
	// With --yes and --backup: the key leaves the file, the rest stays.
	res = w.mfad("", nil, "import", "--yes", "--backup", "default")
	if res.exit != 0 || !strings.Contains(res.stdout, "removed the key of profile default") {
		t.Fatalf("import --yes: %+v", res)
	}
	data, _ := os.ReadFile(creds)
	want := strings.Replace(original, "aws_access_key_id = "+w.user.AccessKeyID+"\naws_secret_access_key = "+w.user.SecretAccessKey+"\n", "", 1)
	if string(data) != want {
		t.Fatalf("file after import:\n%s\nwant:\n%s", data, want)
	}
	if backup, _ := os.ReadFile(creds + ".mfad-backup"); string(backup) != original {
		t.Fatal("backup differs from the original")
	}
	if fi, _ := os.Stat(creds + ".mfad-backup"); fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v", fi.Mode().Perm())
	}
	// The keyring has the key: the daemon unlocks with it.
	w.serve()
	w.mustMfad("unlock", "--code", w.freshCode())

	expectFailure(t, w.mfad("", nil, "import", "temp"), "temporary session credentials", "long-term key")
	expectFailure(t, w.mfad("", nil, "import", "ghost"), "profile ghost has no access key in "+creds, "mfad add ghost")
	expectFailure(t, w.mfad("", nil, "import", "other"), "does not look like an access key ID", "")
}

func TestShellInit(t *testing.T) {
	w := newWorld(t)
	out, err := runClient(t, append(w.env, "MFAD="+mfadBin), "bash", "-c", `eval "$("$MFAD" shell-init bash)" && echo "$AWS_EC2_METADATA_SERVICE_ENDPOINT"`)
	if err != nil || strings.TrimSpace(out) != "http://127.0.0.1:9911/" {
		t.Fatalf("without a daemon: %q %v", out, err)
	}
	d := w.serve()
	out, err = runClient(t, append(w.env, "MFAD="+mfadBin), "bash", "-c", `eval "$("$MFAD" shell-init bash)" && echo "$AWS_EC2_METADATA_SERVICE_ENDPOINT"`)
	if err != nil || strings.TrimSpace(out) != d.endpoint {
		t.Fatalf("with a daemon: %q %v, want %s", out, err, d.endpoint)
	}
	if out := w.mustMfad("shell-init", "fish"); out != "set -gx AWS_EC2_METADATA_SERVICE_ENDPOINT '"+d.endpoint+"'\n" {
		t.Fatalf("fish: %q", out)
	}
	expectFailure(t, w.mfad("", nil, "shell-init", "tcsh"), "unknown shell", "mfad shell-init --help")
}
