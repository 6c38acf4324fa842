package awsconfig

import (
	"os"
	"path/filepath"
	"strings"
)

// SetValue sets key = value in profile's section of the config file,
// changing nothing else: an existing line for the key is replaced, a new
// one goes right under the section's header, and a missing section (or
// file) is added.
func SetValue(profile, key, value string) error {
	path := configPath()
	lines, err := readLines(path)
	if err != nil {
		return err
	}
	header := "[profile " + profile + "]"
	names := []string{"profile " + profile}
	if profile == "default" {
		header = "[default]"
		names = append(names, "default")
	}
	line := key + " = " + value + "\n"
	section := -1
	for i, l := range lines {
		if name, ok := sectionName(l); ok {
			if section >= 0 {
				break
			}
			for _, n := range names {
				if name == n {
					section = i
				}
			}
			continue
		}
		if section >= 0 {
			if k, _, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key {
				lines[i] = line
				return writeConfig(path, lines)
			}
		}
	}
	if section < 0 {
		if n := len(lines); n > 0 && !strings.HasSuffix(lines[n-1], "\n") {
			lines[n-1] += "\n"
		}
		if len(lines) > 0 {
			lines = append(lines, "\n")
		}
		lines = append(lines, header+"\n", line)
		return writeConfig(path, lines)
	}
	if !strings.HasSuffix(lines[section], "\n") {
		lines[section] += "\n"
	}
	lines = append(lines[:section+1], append([]string{line}, lines[section+1:]...)...)
	return writeConfig(path, lines)
}

func writeConfig(path string, lines []string) error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".mfad-tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "")), mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
