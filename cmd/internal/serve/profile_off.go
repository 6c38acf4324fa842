//go:build !mfadprofile

package serve

import "errors"

func startCPUProfile(string) (stop func(), err error) {
	return nil, errors.New("--cpuprofile: this build cannot write profiles; build with -tags " + ProfileTag + " (`go run ./cmd/mfad-bench -cpuprofile FILE` does)")
}
