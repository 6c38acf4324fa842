package awsconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mfad/mfad/ipc"
)

// CredentialsFile returns the path of the shared credentials file: the one
// AWS_SHARED_CREDENTIALS_FILE names, or ~/.aws/credentials.
func CredentialsFile() string {
	if f := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		return f
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".aws", "credentials")
}

// StaticKeys are keys a profile keeps in plain text in the credentials file.
type StaticKeys struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// keyNames are the credentials file's keys that hold secrets mfad moves.
var keyNames = []string{"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}

// ReadStaticKeys returns the keys profile keeps in the credentials file.
func ReadStaticKeys(profile string) (StaticKeys, error) {
	lines, err := readLines(CredentialsFile())
	if err != nil {
		return StaticKeys{}, err
	}
	var k StaticKeys
	found := false
	forEachKey(lines, profile, func(_ int, key, value string) {
		found = true
		switch key {
		case "aws_access_key_id":
			k.AccessKeyID = value
		case "aws_secret_access_key":
			k.SecretAccessKey = value
		case "aws_session_token":
			k.SessionToken = value
		}
	})
	if !found || k.AccessKeyID == "" {
		return StaticKeys{}, ipc.NewError(ipc.KindNoKeys, "profile "+profile+" has no access key in "+CredentialsFile(),
			"store the key with `mfad add "+profile+"` instead")
	}
	return k, nil
}

// RemoveStaticKeys deletes profile's keys from the credentials file and
// keeps everything else as it was: other profiles, other settings, comments.
// A section left empty goes too. With backup, the file as it was is first
// copied next to it (mode 0600), and its path returned.
func RemoveStaticKeys(profile string, backup bool) (string, error) {
	path := CredentialsFile()
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	lines := strings.SplitAfter(string(data), "\n")
	drop := map[int]bool{}
	forEachKey(lines, profile, func(i int, key, _ string) {
		for _, k := range keyNames {
			if key == k {
				drop[i] = true
			}
		}
	})
	var kept []string
	for i, l := range lines {
		if !drop[i] {
			kept = append(kept, l)
		}
	}
	kept = dropEmptySection(kept, profile)
	backupPath := ""
	if backup {
		backupPath = path + ".mfad-backup"
		if err := os.WriteFile(backupPath, data, 0o600); err != nil {
			return "", fmt.Errorf("failed to write the backup %s: %w", backupPath, err)
		}
	}
	tmp := path + ".mfad-tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(kept, "")), info.Mode().Perm()); err != nil {
		return backupPath, err
	}
	return backupPath, os.Rename(tmp, path)
}

func readLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.SplitAfter(string(data), "\n"), nil
}

// sectionName returns the name of the section a line opens, if it does.
func sectionName(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "[") || !strings.HasSuffix(t, "]") {
		return "", false
	}
	return strings.TrimSpace(t[1 : len(t)-1]), true
}

// forEachKey calls fn for every key = value line of profile's section.
func forEachKey(lines []string, profile string, fn func(i int, key, value string)) {
	in := false
	for i, l := range lines {
		if name, ok := sectionName(l); ok {
			in = name == profile
			continue
		}
		if !in {
			continue
		}
		key, value, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(strings.TrimSpace(key), "#") || strings.HasPrefix(strings.TrimSpace(key), ";") {
			continue
		}
		fn(i, strings.TrimSpace(key), strings.TrimSpace(value))
	}
}

// dropEmptySection removes profile's section header when nothing but
// blank lines is left under it.
func dropEmptySection(lines []string, profile string) []string {
	for i, l := range lines {
		name, ok := sectionName(l)
		if !ok || name != profile {
			continue
		}
		end := len(lines)
		for j := i + 1; j < len(lines); j++ {
			if _, next := sectionName(lines[j]); next {
				end = j
				break
			}
		}
		for _, body := range lines[i+1 : end] {
			if strings.TrimSpace(body) != "" {
				return lines
			}
		}
		return append(append([]string{}, lines[:i]...), lines[end:]...)
	}
	return lines
}
