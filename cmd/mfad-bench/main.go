// Command mfad-bench measures mfad as its users meet it: credential fetches
// by SDK-style clients against the real daemon and against the fastest
// plain net/http server serving the same bodies (the ceiling), start-up,
// memory, unlock and `mfad status` times, and the AWS CLI's own wall time
// through mfad. It reports ratios against the ceiling measured in the same
// run, and whether each target is met; it asserts nothing.
//
//	go run ./cmd/mfad-bench                  # full run, a few minutes
//	go run ./cmd/mfad-bench -out results.md  # also write the report there
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	sequences := flag.Int("sequences", 20000, "credential sequences per load run")
	concurrency := flag.String("concurrency", "1,8,32,128", "concurrency levels, comma-separated")
	runs := flag.Int("runs", 10, "runs of each timed command (start-up, status, unlock, AWS CLI)")
	out := flag.String("out", "", "also write the report to this file")
	mfad := flag.String("mfad", "", "the mfad binary (default: build ./cmd/mfad)")
	ceilingBody := flag.String("serve-ceiling", "", "internal: serve the ceiling with this credential document")
	flag.Parse()
	if *ceilingBody != "" {
		serveCeilingHere(*ceilingBody)
		return
	}
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
	rep, err := measure(context.Background(), config{mfad: *mfad, sequences: *sequences, levels: levels, runs: *runs})
	if err != nil {
		log.Fatal(err)
	}
	text := rep.markdown()
	fmt.Print(text)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

type config struct {
	mfad      string
	sequences int
	levels    []int
	runs      int
}

// serveCeiling starts the ceiling server in a process of its own, as the
// daemon is: serving from the load generator's own process would spare it
// the cost of crossing processes and make the ratio unfair.
func serveCeiling(body string) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "-serve-ceiling", body) // main_test.go's TestMain knows this form too
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return "", nil, fmt.Errorf("ceiling server: %w", err)
	}
	return "http://" + strings.TrimSpace(addr), func() { cmd.Process.Kill(); cmd.Wait() }, nil
}

// serveCeilingHere is the ceiling server's process: it prints its address
// and serves until killed.
func serveCeilingHere(body string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: ceiling(body), ErrorLog: log.New(io.Discard, "", 0)}
	log.Fatal(srv.Serve(ln))
}

func machine() string {
	return fmt.Sprintf("%d CPUs, %s %s/%s", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// median of ds, which it sorts.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sortDurations(ds)
	return ds[len(ds)/2]
}
