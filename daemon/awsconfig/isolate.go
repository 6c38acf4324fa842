package awsconfig

import (
	"bytes"
	"strings"
)

// credentialKeys are the settings with which a profile gets credentials of
// its own, or names where to get them. In the profile an SDK picks by
// default, each of them comes before the metadata and container endpoints
// in every SDK's chain.
var credentialKeys = []string{
	"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token",
	"role_arn", "source_profile", "credential_source", "external_id", "role_session_name",
	"duration_seconds", "mfa_serial", "mfa_process", "credential_process",
	"web_identity_token_file", "sso_session", "login_session",
}

// isCredentialKey reports whether key gives a profile credentials, or
// shapes how it gets them (sso_start_url, sso_role_name and the like).
func isCredentialKey(key string) bool {
	key = strings.ToLower(strings.TrimSpace(key))
	for _, k := range credentialKeys {
		if key == k {
			return true
		}
	}
	return strings.HasPrefix(key, "sso_")
}

// CredentialSettings returns the settings of profile's section in the
// config file that give it credentials of its own, in file order.
func CredentialSettings(profile string) ([]string, error) {
	f, err := readFile()
	if err != nil {
		return nil, err
	}
	sec, ok := section(f, profile)
	if !ok {
		return nil, nil
	}
	var found []string
	for _, k := range sec.Keys() {
		if isCredentialKey(k.Name()) {
			found = append(found, k.Name())
		}
	}
	return found, nil
}

// IsolatedConfig returns a config file for a program that must use no
// credentials but those mfad hands it: the user's file with its default
// profile replaced by profile's settings less every credential setting.
// The program then gets profile's region, output format and the like,
// and every SDK's chain finds nothing before mfad's endpoint. The other
// sections stay as they are, so an explicit --profile still means what it
// says. The file is edited line by line, as the SDKs read it: nested
// settings (s3 =, then indented lines) travel with their key.
func IsolatedConfig(profile string) ([]byte, error) {
	lines, err := readLines(configPath())
	if err != nil {
		return nil, err
	}
	sectionOf := func(name string) (string, bool) {
		switch {
		case name == "default" || name == "profile default":
			return "default", true
		case strings.HasPrefix(name, "profile "):
			return strings.TrimSpace(strings.TrimPrefix(name, "profile ")), true
		}
		return "", false
	}
	var kept, settings []string
	current, isProfile := "", false
	dropKey := false // the key a continuation line belongs to is dropped
	for _, l := range lines {
		if name, ok := sectionName(l); ok {
			current, isProfile = sectionOf(name)
			dropKey = false
			if !isProfile || current != "default" {
				kept = append(kept, l)
			}
			continue
		}
		if isProfile && current == profile {
			trimmed := strings.TrimSpace(l)
			switch {
			case trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';':
			case l[0] == ' ' || l[0] == '\t':
				if !dropKey {
					settings = append(settings, l)
				}
			default:
				key, _, _ := strings.Cut(l, "=")
				dropKey = isCredentialKey(key)
				if !dropKey {
					settings = append(settings, l)
				}
			}
		}
		if !isProfile || current != "default" {
			kept = append(kept, l)
		}
	}
	var buf bytes.Buffer
	buf.WriteString("# Written by `mfad exec " + profile + "` from " + ConfigFile() + ".\n" +
		"# Its default profile is " + profile + "'s settings without credentials, so\n" +
		"# that every SDK takes its credentials from mfad. Edit the original.\n[default]\n")
	for _, l := range settings {
		buf.WriteString(strings.TrimRight(l, "\r\n") + "\n")
	}
	buf.WriteString("\n")
	for _, l := range kept {
		buf.WriteString(l)
	}
	return buf.Bytes(), nil
}
