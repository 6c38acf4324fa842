package main

import (
	"os"
	"slices"
	"strings"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/ipc"
)

// shellView is what AWS tools started from this shell will do for
// credentials, read the way every SDK's default chain reads: first the
// environment's keys and web identity, then the profile (AWS_PROFILE, else
// default) with its keys, credential_process, SSO or role, then the
// container endpoint, and only then the metadata endpoint.
type shellView struct {
	// intended is the profile the user has picked for this shell: the
	// one AWS_PROFILE names, else the one the container endpoint serves
	// it, else the one the daemon serves on its metadata endpoint.
	intended string
	findings []finding
}

// readShell looks at this shell's variables and the profile they pick. st
// is the daemon's status, nil when it does not answer.
func readShell(st *ipc.Status) shellView {
	var v shellView
	add := func(problem bool, what, fix string) { v.findings = append(v.findings, finding{problem, what, fix}) }
	served := "default"
	if st != nil {
		served = st.IMDSProfile
	}
	v.intended = served

	if os.Getenv("AWS_ACCESS_KEY_ID") != "" {
		add(true, "this shell: AWS_ACCESS_KEY_ID is set, and every SDK uses it before asking mfad", "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN")
	}
	if os.Getenv("AWS_ROLE_ARN") != "" || os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" {
		add(true, "this shell: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (web identity) come before mfad in every SDK",
			"unset AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_SESSION_NAME")
	}

	route, routeProfile := v.readRoute(st, served)
	if routeProfile != "" {
		v.intended = routeProfile
	}
	picked, byName := os.Getenv("AWS_PROFILE"), "AWS_PROFILE"
	if picked == "" {
		picked, byName = os.Getenv("AWS_DEFAULT_PROFILE"), "AWS_DEFAULT_PROFILE"
	}
	if picked != "" {
		v.intended = picked
		v.readPickedProfile(byName, picked, route, routeProfile)
	} else {
		v.readDefaultProfile()
	}
	if strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		add(true, "this shell: AWS_EC2_METADATA_DISABLED=true turns the metadata endpoint off for every SDK", "unset AWS_EC2_METADATA_DISABLED")
	}
	return v
}

// readRoute checks the variables that point tools at an endpoint, and
// returns which one wins ("container", "imds" or "") and the profile mfad
// serves on it.
func (v *shellView) readRoute(st *ipc.Status, served string) (route, profile string) {
	add := func(problem bool, what, fix string) { v.findings = append(v.findings, finding{problem, what, fix}) }
	if rel := os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" && os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") == "" {
		add(true, "this shell: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI points at an ECS agent, not at mfad, and comes before the metadata endpoint",
			`unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; eval "$(mfad env)"`)
		return "container", ""
	}
	if full := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"); full != "" {
		if st == nil || !strings.HasPrefix(full, st.ContainerEndpoint) {
			add(true, "this shell: AWS_CONTAINER_CREDENTIALS_FULL_URI is "+full+", which is not the running mfad's, and every SDK uses it before the metadata endpoint",
				`eval "$(mfad env)" (or mfad env --profile NAME)`)
			return "container", ""
		}
		profile = strings.TrimPrefix(full, st.ContainerEndpoint)
		if _, ok := profileStatus(st, profile); !ok {
			add(true, "this shell: the container endpoint is pointed at profile "+profile+", which the daemon does not know",
				`eval "$(mfad env)" (or mfad env --profile NAME)`)
			return "container", profile
		}
		if !containerTokenCurrent(st) {
			add(true, "this shell: the container endpoint's token in this shell is not the running daemon's (it changes when the daemon restarts), so every SDK is refused",
				`eval "$(mfad env --profile `+profile+`)"`)
			return "container", profile
		}
		add(false, "this shell: AWS tools get profile "+profile+" from the container endpoint ("+full+")", "")
		return "container", profile
	}
	endpoint := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")
	switch {
	case endpoint == "":
		add(true, "this shell: AWS_EC2_METADATA_SERVICE_ENDPOINT is not set, so AWS tools do not ask mfad", `eval "$(mfad env)", and put eval "$(mfad shell-init bash)" in ~/.bashrc`)
		return "", ""
	case st != nil && endpoint != st.IMDSEndpoint:
		add(true, "this shell: AWS_EC2_METADATA_SERVICE_ENDPOINT is "+endpoint+", but the daemon serves "+st.IMDSEndpoint, `eval "$(mfad env)"`)
		return "imds", ""
	}
	add(false, "this shell: AWS tools get profile "+served+" from the metadata endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT="+endpoint+")", "")
	return "imds", served
}

// containerTokenCurrent reports whether the container token this shell
// sends is the running daemon's. SDKs send AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE's
// content when they read the file, else AWS_CONTAINER_AUTHORIZATION_TOKEN:
// both must be current, as older clients read only the variable.
func containerTokenCurrent(st *ipc.Status) bool {
	current, err := os.ReadFile(st.ContainerTokenFile)
	if err != nil {
		return false
	}
	want := strings.TrimSpace(string(current))
	if file := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" && file != st.ContainerTokenFile {
		return false
	}
	if token := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"); token != "" && token != want {
		return false
	}
	return os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") != "" || os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN") != ""
}

// readPickedProfile checks the profile AWS_PROFILE (or AWS_DEFAULT_PROFILE)
// names: SDKs use what it has before any endpoint, and fail on one that
// does not exist.
func (v *shellView) readPickedProfile(byName, picked, route, routeProfile string) {
	add := func(problem bool, what, fix string) { v.findings = append(v.findings, finding{problem, what, fix}) }
	set := "this shell: " + byName + "=" + picked
	names, _ := awsconfig.Names()
	_, keysErr := awsconfig.ReadStaticKeys(picked)
	if !slices.Contains(names, picked) && keysErr != nil {
		e := awsconfig.NotFoundError(picked)
		fix := "unset " + byName
		if close := awsconfig.Closest(picked, names); len(close) > 0 {
			fix = "export " + byName + "=" + close[0] + ", or " + fix
		}
		add(true, set+" names no profile in "+awsconfig.ConfigFile()+", and every AWS tool fails on it ("+e.Hint+")", fix)
		return
	}
	if v.readShadowingSettings(set+" picks a profile that", picked) {
		return
	}
	if awsconfig.Setting(picked, "region") == "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		add(true, set+" picks a profile without a region, and none is set in this shell: AWS tools fail with \"You must specify a region\"",
			"add region = REGION to that profile in "+awsconfig.ConfigFile()+", or export AWS_REGION=REGION")
		return
	}
	if settings, _ := awsconfig.CredentialSettings(picked); slices.Contains(settings, "role_arn") {
		if !slices.Contains(settings, "credential_source") {
			add(true, set+" is a role with source_profile: the SDK itself would assume it, with keys from the files, which mfad keeps in the keyring instead, so every AWS tool fails (\"source profile must have credentials\")",
				`unset `+byName+`, then eval "$(mfad env --profile `+picked+`)" or run mfad exec `+picked+` -- COMMAND; or, in `+awsconfig.ConfigFile()+`, replace source_profile with credential_source = `+awsconfig.MetadataCredentialSource+` (when its IAM user is the profile mfad serves)`)
			return
		}
		if slices.Contains(settings, "mfa_serial") {
			add(true, set+" assumes its role with the metadata endpoint's credentials and has mfa_serial, so the SDK asks for a code of its own (or fails)",
				"remove mfa_serial from profile "+picked+": the MFA session mfad serves already carries MFA")
			return
		}
		if route != "imds" {
			add(true, set+" assumes its role with the metadata endpoint's credentials, but this shell does not point at mfad's metadata endpoint", `eval "$(mfad env)"`)
			return
		}
		add(false, set+": the SDK assumes its role with the MFA session mfad serves on the metadata endpoint", "")
		return
	}
	if routeProfile != "" && routeProfile != picked {
		add(true, set+", but this profile has no credentials of its own, so AWS tools use those mfad serves: profile "+routeProfile+"'s, not "+picked+"'s",
			`unset `+byName+`; eval "$(mfad env --profile `+picked+`)"`)
		return
	}
	add(false, set+": AWS tools use it with mfad's credentials", "")
}

// readDefaultProfile checks the default profile, which SDKs read when no
// profile is picked: what it has comes before any endpoint.
func (v *shellView) readDefaultProfile() {
	v.readShadowingSettings("profile default", "default")
}

// readShadowingSettings reports the credentials profile has of its own, in
// the credentials file or the config file, and reports whether it has any.
func (v *shellView) readShadowingSettings(what, profile string) bool {
	add := func(problem bool, what, fix string) { v.findings = append(v.findings, finding{problem, what, fix}) }
	found := false
	if _, err := awsconfig.ReadStaticKeys(profile); err == nil {
		add(true, strings.Replace(what, " that", "", 1)+" has an access key in "+awsconfig.CredentialsFile()+", which every SDK uses before asking mfad", "mfad import "+profile)
		found = true
	}
	settings, _ := awsconfig.CredentialSettings(profile)
	var shadowing []string
	for _, s := range settings {
		switch {
		case s == "aws_access_key_id", s == "credential_process", s == "sso_session", s == "sso_start_url",
			s == "login_session", s == "web_identity_token_file":
			shadowing = append(shadowing, s)
		}
	}
	if len(shadowing) > 0 {
		add(true, strings.Replace(what, " that", "", 1)+" has "+strings.Join(shadowing, ", ")+" in "+awsconfig.ConfigFile()+", which every SDK uses before asking mfad",
			"remove "+strings.Join(shadowing, ", ")+" from that profile (mfad add or import takes the key), or run mfad exec PROFILE -- COMMAND, which ignores it")
		found = true
	}
	return found
}

// checkProxy finds a proxy that would catch requests to mfad: botocore
// sends metadata requests through HTTP(S)_PROXY unless NO_PROXY covers
// the address.
func checkProxy() []finding {
	for _, name := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		if os.Getenv(name) != "" && !noProxyCovers("127.0.0.1") {
			return []finding{{true, "this shell: " + name + " is set without NO_PROXY for 127.0.0.1, and botocore sends metadata requests through the proxy",
				"export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"}}
		}
	}
	return nil
}
