// Command mfad keeps AWS MFA sessions for the AWS CLI and SDKs: a daemon
// serves session credentials on a local endpoint that looks like the EC2
// instance metadata service, and `mfad unlock` feeds it a one-time code
// whenever the session lapses.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mfad/mfad/daemon/harden"
	"github.com/mfad/mfad/daemon/keystore"
)

func main() {
	// First, before any secret is read: a command waiting at a prompt
	// holds a long-term key too.
	if err := harden.Process(); err != nil {
		fmt.Fprintf(os.Stderr, "mfad: warning: could not disable core dumps: %v\n", err)
	}
	if len(os.Args) == 2 && os.Args[1] == keystore.DeriveCommand {
		// A daemon's key derivation (keystore.DeriveInChild).
		if err := keystore.ServeDerivation(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "mfad: %v\n", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
