// Command mfad-bench measures mfad as its users meet it: credential fetches
// by SDK-style clients against the real daemon and against the fastest
// plain net/http server serving the same bodies (the ceiling), start-up,
// memory, unlock and `mfad status` times, and the AWS CLI's own wall time
// through mfad. It reports ratios against the ceiling measured in the same
// run, and whether each target is met; it asserts nothing.
//
//	go run ./cmd/mfad-bench                  # full run, a few minutes
//	go run ./cmd/mfad-bench -out results.md  # also write the report there
//	go run ./cmd/mfad-bench -ab OLD/mfad-daemon -reps 10 -concurrency 8,32
//	                                         # this build against another, A/B
//	go run ./cmd/mfad-bench -loads imds-kept -concurrency 32 -cpuprofile cpu.prof
//	                                         # one load shape, profiled
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) == 5 && os.Args[1] == peerFlag {
		servePeer(os.Args[2], os.Args[3], os.Args[4])
		return
	}
	duration := flag.Duration("duration", 2*time.Second, "how long each server runs under each load shape")
	reps := flag.Int("reps", 7, "repetitions of each load shape")
	slice := flag.Duration("slice", 500*time.Millisecond, "within a repetition, the servers take turns in slices of at most this long (0: one turn each of -duration)")
	concurrency := flag.String("concurrency", "1,8,32", "client counts, comma-separated")
	loads := flag.String("loads", strings.Join(loadNames, ","), "load shapes to run, comma-separated (fewer, for profiling one)")
	runs := flag.Int("runs", 10, "runs of each timed command (start-up, status, unlock, AWS CLI)")
	out := flag.String("out", "", "also write the report to this file")
	mfad := flag.String("mfad", "", "the mfad binary, with the mfad-daemon beside it if there is one (default: build both as a release)")
	idle := flag.Duration("idle", idleAfter, "how long after its last request a server's memory is read as idle (the daemon hands memory back after 30 s)")
	ab := flag.String("ab", "", "instead of the full run, compare this build's daemon (A) with another build's mfad-daemon or mfad `binary` (B), run in turn")
	cpuProfile := flag.String("cpuprofile", "", "write CPU profiles of the servers under load: the daemon's to `file`, the peers' to file.bare and file.aws-vault")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("mfad-bench: ")

	var levels []int
	for _, s := range strings.Split(*concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("bad -concurrency %q", *concurrency)
		}
		levels = append(levels, n)
	}
	shapes := map[string]bool{}
	for _, s := range strings.Split(*loads, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(loadNames, s) {
			log.Fatalf("bad -loads %q: the shapes are %s", *loads, strings.Join(loadNames, ", "))
		}
		shapes[s] = true
	}
	c := config{mfad: *mfad, cpuProfile: *cpuProfile, duration: *duration, slice: *slice, reps: *reps, levels: levels, loads: shapes, runs: *runs, idle: *idle}
	var text string
	if *ab != "" {
		var err error
		if text, err = compare(c, *ab); err != nil {
			log.Fatal(err)
		}
	} else {
		rep, err := measure(context.Background(), c)
		if err != nil {
			log.Fatal(err)
		}
		text = rep.markdown()
	}
	fmt.Print(text)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

type config struct {
	mfad       string
	cpuProfile string
	duration   time.Duration
	slice      time.Duration // the longest turn of one server within a repetition
	reps       int
	levels     []int
	loads      map[string]bool // by loadName; runs all when nil
	runs       int
	idle       time.Duration // wait before reading idle memory
}

// rounds is how many turns each server takes in a repetition: slices of
// at most c.slice.
func (c config) rounds() int {
	if c.slice <= 0 || c.slice >= c.duration {
		return 1
	}
	return int((c.duration + c.slice - 1) / c.slice)
}

// loadNames name the load shapes for -loads: the endpoint, and whether each
// sequence opens a new connection or reuses a kept-alive one.
var loadNames = []string{"imds-new", "imds-kept", "container-new", "container-kept"}

// wants reports whether the load shape of an endpoint (IMDS or container)
// and kind of connection is to be run.
func (c config) wants(container, fresh bool) bool {
	name := "imds"
	if container {
		name = "container"
	}
	if fresh {
		name += "-new"
	} else {
		name += "-kept"
	}
	return c.loads == nil || c.loads[name]
}

func machine() string {
	return fmt.Sprintf("%d CPUs, %s %s/%s", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// median of ds, which it sorts.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}
