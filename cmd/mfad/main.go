// Command mfad keeps AWS MFA sessions for the AWS CLI and SDKs: a daemon
// serves session credentials on a local endpoint that looks like the EC2
// instance metadata service, and `mfad unlock` feeds it a one-time code
// whenever the session lapses.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
