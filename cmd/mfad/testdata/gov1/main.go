// Command gov1 loads credentials with the AWS SDK for Go v1
// (github.com/aws/aws-sdk-go) and prints them as JSON on stdout, like the
// other conformance clients. Argument: "imds" (ec2rolecreds alone) or
// "chain" (a session's default chain, what a Go v1 program gets). It is a
// module of its own, so that mfad does not depend on the old SDK.
//
// MFAD_CLIENT_LOOP=N asks N times more first, as a long-running program
// does before each call. MFAD_CLIENT_AGAIN=1 makes it a long-running
// program: after the first answer it waits for a line on stdin, asks the
// same credentials object again, and prints a second answer.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go/aws/session"
)

type result struct {
	Version    string `json:"version"`
	Key        string `json:"key,omitempty"`
	Secret     string `json:"secret,omitempty"`
	Token      string `json:"token,omitempty"`
	Expiration string `json:"expiration,omitempty"`
	Err        string `json:"error,omitempty"`
}

func main() {
	sess, err := session.NewSessionWithOptions(session.Options{SharedConfigState: session.SharedConfigEnable})
	if err != nil {
		b, _ := json.Marshal(result{Version: aws.SDKVersion, Err: err.Error()})
		fmt.Println(string(b))
		os.Exit(1)
	}
	creds := sess.Config.Credentials
	if len(os.Args) > 1 && os.Args[1] == "imds" {
		creds = ec2rolecreds.NewCredentials(sess)
	}
	loops, _ := strconv.Atoi(os.Getenv("MFAD_CLIENT_LOOP"))
	ok := attempt(creds, loops)
	if os.Getenv("MFAD_CLIENT_AGAIN") != "" {
		bufio.NewReader(os.Stdin).ReadString('\n')
		ok = attempt(creds, 0)
	}
	if !ok {
		os.Exit(1)
	}
}

// attempt gets the credentials, after loops gets more, and prints them.
func attempt(creds *credentials.Credentials, loops int) bool {
	r := result{Version: aws.SDKVersion}
	var v credentials.Value
	var err error
	for i := 0; i <= loops && err == nil; i++ {
		v, err = creds.Get()
	}
	if err != nil {
		r.Err = err.Error()
	} else {
		r.Key, r.Secret, r.Token = v.AccessKeyID, v.SecretAccessKey, v.SessionToken
		if exp, e := creds.ExpiresAt(); e == nil {
			r.Expiration = exp.UTC().Format(time.RFC3339)
		}
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	return err == nil
}
