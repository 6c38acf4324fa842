package main

import (
	"errors"
	"net/url"
	"os"

	"github.com/mfad/mfad/daemon"
	"github.com/mfad/mfad/ipc"
)

// endpointsInUse are the metadata endpoints AWS tools started from here
// would use: this shell's AWS_EC2_METADATA_SERVICE_ENDPOINT, the running
// daemon's (st, nil when it does not answer), else the default one.
func endpointsInUse(st *ipc.Status) []string {
	var out []string
	if e := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); e != "" {
		out = append(out, e)
	}
	if st != nil {
		out = append(out, st.IMDSEndpoint)
	} else {
		out = append(out, "http://"+daemon.Listen()+"/")
	}
	return out
}

// checkEndpoints returns a *daemon.SquatterError when another user listens
// on any of endpoints (URLs). SDKs cannot tell the metadata service from an
// impostor: mfad must.
func checkEndpoints(endpoints ...string) error {
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Host == "" {
			continue
		}
		if err := daemon.CheckHolder(u.Host); err != nil {
			return err
		}
	}
	return nil
}

// withSquatter puts a squatter first: when the daemon does not answer, the
// reason may be that another user holds its port, which matters more.
func withSquatter(err error, st *ipc.Status) error {
	if squat := checkEndpoints(endpointsInUse(st)...); squat != nil {
		var notRunning *ipc.NotRunningError
		if errors.As(err, &notRunning) || err == nil {
			return squat
		}
	}
	return err
}
