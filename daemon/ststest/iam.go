package ststest

import (
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The fake also answers the IAM Query API (reach it with
// AWS_ENDPOINT_URL_IAM) for what `mfad init` does: virtual MFA devices,
// managed policies and permissions boundaries.

const (
	iamVersion = "2010-05-08"
	iamXMLNS   = "https://iam.amazonaws.com/doc/2010-05-08/"
)

// iamState is the account as IAM sees it.
type iamState struct {
	devices    map[string]*mfaDevice // by serial
	policies   map[string]string     // policy ARN -> document
	boundaries map[string]string     // user name -> boundary policy ARN
	mutations  []string              // every change, in order
	faults     map[string]*apiError  // action -> the error it answers
}

type mfaDevice struct {
	serial, seed, user string
	enabled            bool
	enabledAt          time.Time
}

// IAMFault makes action answer with AWS's error code and message.
func (s *Server) IAMFault(action string, status int, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.iam.faults[action] = &apiError{status, "Sender", code, message}
}

// Mutations lists every change the IAM API made, in order.
func (s *Server) Mutations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.iam.mutations...)
}

// Boundary returns the user's permissions boundary and its document.
func (s *Server) Boundary(user string) (arn, document string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn = s.iam.boundaries[user]
	return arn, s.iam.policies[arn]
}

// AddPolicy creates a managed policy, as if someone had before.
func (s *Server) AddPolicy(account, name, document string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := "arn:aws:iam::" + account + ":policy/" + name
	s.iam.policies[arn] = document
	return arn
}

// SetBoundary sets a user's permissions boundary, as if someone had before.
func (s *Server) SetBoundary(user, policyARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.iam.boundaries[user] = policyARN
}

// DeviceSeed returns the seed of a virtual MFA device, as the user's
// authenticator app has it after scanning the QR code.
func (s *Server) DeviceSeed(serial string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.iam.devices[serial]; d != nil {
		return d.seed
	}
	return ""
}

type iamMember struct {
	UserName     string `xml:"UserName"`
	SerialNumber string `xml:"SerialNumber"`
	EnableDate   string `xml:"EnableDate"`
}

type iamPolicy struct {
	PolicyName       string `xml:"PolicyName"`
	Arn              string `xml:"Arn"`
	DefaultVersionID string `xml:"DefaultVersionId"`
}

// iamReply answers as IAM does: <ActionResponse><ActionResult>fields of
// result</ActionResult><ResponseMetadata>…</ActionResponse>.
func (s *Server) iamReply(w http.ResponseWriter, action string, result any) {
	var b strings.Builder
	b.WriteString(`<` + action + `Response xmlns="` + iamXMLNS + `">`)
	if result != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			panic(err)
		}
	}
	b.WriteString(`<ResponseMetadata><RequestId>` + newRequestID() + `</RequestId></ResponseMetadata></` + action + `Response>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, b.String())
}

func noSuchEntity(msg string) *apiError { return &apiError{404, "Sender", "NoSuchEntity", msg} }

func (s *Server) serveIAM(w http.ResponseWriter, form url.Values, caller User, now time.Time) {
	action := form.Get("Action")
	s.mu.Lock()
	fault := s.iam.faults[action]
	s.mu.Unlock()
	if fault != nil {
		writeError(w, fault)
		return
	}
	userName := form.Get("UserName")
	if userName == "" {
		userName = caller.Name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.iam
	switch action {
	case "GetUser":
		type boundary struct {
			Type string `xml:"PermissionsBoundaryType"`
			Arn  string `xml:"PermissionsBoundaryArn"`
		}
		user := struct {
			UserName string    `xml:"User>UserName"`
			Arn      string    `xml:"User>Arn"`
			UserID   string    `xml:"User>UserId"`
			Path     string    `xml:"User>Path"`
			Created  string    `xml:"User>CreateDate"`
			Boundary *boundary `xml:"User>PermissionsBoundary,omitempty"`
		}{UserName: userName, Arn: "arn:aws:iam::" + caller.Account + ":user/" + userName, UserID: "AIDA" + caller.AccessKeyID[4:], Path: "/", Created: now.UTC().Format(time.RFC3339)}
		if arn := st.boundaries[userName]; arn != "" {
			user.Boundary = &boundary{"Policy", arn}
		}
		s.iamReply(w, action, user)
	case "ListMFADevices":
		var members []iamMember
		for _, d := range st.devices {
			if d.user == userName && d.enabled {
				members = append(members, iamMember{d.user, d.serial, d.enabledAt.UTC().Format(time.RFC3339)})
			}
		}
		if len(members) == 0 && caller.Name == userName && caller.MFASerial != "" {
			// A user made with a device (NewUser) has it enabled.
			members = append(members, iamMember{userName, caller.MFASerial, now.UTC().Format(time.RFC3339)})
		}
		s.iamReply(w, action, struct {
			IsTruncated bool        `xml:"IsTruncated"`
			Devices     []iamMember `xml:"MFADevices>member"`
		}{false, members})
	case "CreateVirtualMFADevice":
		name := form.Get("VirtualMFADeviceName")
		serial := "arn:aws:iam::" + caller.Account + ":mfa/" + name
		if _, exists := st.devices[serial]; exists {
			writeError(w, &apiError{409, "Sender", "EntityAlreadyExists", "MFADevice entity at the same path and name already exists."})
			return
		}
		seed := strings.TrimRight(base32NoPad(randomBytes(40)), "=")
		st.devices[serial] = &mfaDevice{serial: serial, seed: seed, user: ""}
		st.mutations = append(st.mutations, "CreateVirtualMFADevice "+serial)
		s.iamReply(w, action, struct {
			Serial string `xml:"VirtualMFADevice>SerialNumber"`
			Seed   string `xml:"VirtualMFADevice>Base32StringSeed"`
		}{serial, base64.StdEncoding.EncodeToString([]byte(seed))})
	case "DeleteVirtualMFADevice":
		serial := form.Get("SerialNumber")
		d := st.devices[serial]
		if d == nil {
			writeError(w, noSuchEntity("MFA device with serial number "+serial+" not found."))
			return
		}
		if d.enabled {
			writeError(w, &apiError{409, "Sender", "DeleteConflict", "MFA device is still in use."})
			return
		}
		delete(st.devices, serial)
		st.mutations = append(st.mutations, "DeleteVirtualMFADevice "+serial)
		s.iamReply(w, action, nil)
	case "EnableMFADevice":
		serial := form.Get("SerialNumber")
		d := st.devices[serial]
		if d == nil {
			writeError(w, noSuchEntity("MFA device with serial number "+serial+" not found."))
			return
		}
		if !consecutiveCodes(d.seed, form.Get("AuthenticationCode1"), form.Get("AuthenticationCode2"), now) {
			writeError(w, &apiError{403, "Sender", "InvalidAuthenticationCode", "Authentication code for device is not valid."})
			return
		}
		d.enabled, d.user, d.enabledAt = true, userName, now
		for id, u := range s.users {
			if u.Name == userName && u.Account == caller.Account {
				u.MFASerial, u.Seed = serial, d.seed
				s.users[id] = u
			}
		}
		st.mutations = append(st.mutations, "EnableMFADevice "+serial)
		s.iamReply(w, action, nil)
	case "CreatePolicy":
		name := form.Get("PolicyName")
		arn := "arn:aws:iam::" + caller.Account + ":policy/" + name
		if _, exists := st.policies[arn]; exists {
			writeError(w, &apiError{409, "Sender", "EntityAlreadyExists", "A policy called " + name + " already exists. Duplicate names are not allowed."})
			return
		}
		st.policies[arn] = form.Get("PolicyDocument")
		st.mutations = append(st.mutations, "CreatePolicy "+arn)
		s.iamReply(w, action, struct {
			Policy iamPolicy `xml:"Policy"`
		}{iamPolicy{name, arn, "v1"}})
	case "GetPolicy":
		arn := form.Get("PolicyArn")
		if _, ok := st.policies[arn]; !ok {
			writeError(w, noSuchEntity("Policy "+arn+" was not found."))
			return
		}
		s.iamReply(w, action, struct {
			Policy iamPolicy `xml:"Policy"`
		}{iamPolicy{arn[strings.LastIndex(arn, "/")+1:], arn, "v1"}})
	case "GetPolicyVersion":
		arn := form.Get("PolicyArn")
		doc, ok := st.policies[arn]
		if !ok {
			writeError(w, noSuchEntity("Policy "+arn+" was not found."))
			return
		}
		// IAM returns the document URL-encoded.
		s.iamReply(w, action, struct {
			Document  string `xml:"PolicyVersion>Document"`
			VersionID string `xml:"PolicyVersion>VersionId"`
			Default   bool   `xml:"PolicyVersion>IsDefaultVersion"`
		}{url.QueryEscape(doc), "v1", true})
	case "DeletePolicy":
		arn := form.Get("PolicyArn")
		if _, ok := st.policies[arn]; !ok {
			writeError(w, noSuchEntity("Policy "+arn+" was not found."))
			return
		}
		delete(st.policies, arn)
		st.mutations = append(st.mutations, "DeletePolicy "+arn)
		s.iamReply(w, action, nil)
	case "PutUserPermissionsBoundary":
		arn := form.Get("PermissionsBoundary")
		if _, ok := st.policies[arn]; !ok {
			writeError(w, noSuchEntity("Policy "+arn+" does not exist or is not attachable."))
			return
		}
		st.boundaries[userName] = arn
		st.mutations = append(st.mutations, "PutUserPermissionsBoundary "+userName+" "+arn)
		s.iamReply(w, action, nil)
	default:
		writeError(w, &apiError{400, "Sender", "InvalidAction", "Could not find operation " + action + " for version " + iamVersion})
	}
}

// consecutiveCodes reports whether c1 and c2 are the device's codes for
// two consecutive 30-second steps, the first within one step of now.
func consecutiveCodes(seed, c1, c2 string, now time.Time) bool {
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	for _, step := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		t := now.Add(step)
		a, err1 := totp.GenerateCodeCustom(seed, t, opts)
		b, err2 := totp.GenerateCodeCustom(seed, t.Add(30*time.Second), opts)
		if err1 == nil && err2 == nil && a == c1 && b == c2 {
			return true
		}
	}
	return false
}
