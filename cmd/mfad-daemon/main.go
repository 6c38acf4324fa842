// Command mfad-daemon is the mfad daemon alone: `mfad serve` replaces
// itself by it when it is installed beside mfad. It links the daemon and
// its keyring but none of the CLI (the IAM client of `mfad init`, the
// service installer, the command tree), so the process that runs all day
// is smaller and starts sooner. Without it, mfad serves in its own process.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/mfad/mfad/cmd/internal/serve"
	"github.com/mfad/mfad/daemon/harden"
)

// version is set at build time with -ldflags "-X main.version=...", as mfad's.
var version = ""

func main() {
	// No heap profile is ever taken of the daemon: its sampling would
	// keep a record of every sampled call stack for the process's life.
	// (The linker turns it off already while nothing links runtime/pprof;
	// a profiling build, -tags mfadprofile, does, for CPU profiles only.)
	runtime.MemProfileRate = 0
	// First, before any secret is read, as mfad does.
	if err := harden.Process(); err != nil {
		fmt.Fprintf(os.Stderr, "mfad: warning: could not disable core dumps: %v\n", err)
	}
	os.Exit(serve.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, serve.Version(version)))
}
