package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	// The peer servers run as copies of this binary.
	if len(os.Args) == 5 && os.Args[1] == peerFlag {
		servePeer(os.Args[2], os.Args[3], os.Args[4])
		return
	}
	os.Exit(m.Run())
}

// TestSmallRun runs the whole benchmark on a small scale: it must finish,
// fail no sequence against any server, and report every section and
// target.
func TestSmallRun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "mfad")
	build := exec.Command("go", "build", "-o", dir, "../mfad", "../mfad-daemon")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	wd, _ := os.Getwd()
	// The handler's benchmark runs from the repository's root.
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	rep, err := measure(context.Background(), config{mfad: bin, duration: 100 * time.Millisecond, reps: 2, levels: []int{1, 8}, runs: 2, idle: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.failures) != 0 {
		t.Fatalf("failed sequences:\n%s", strings.Join(rep.failures, "\n"))
	}
	text := rep.markdown()
	for _, want := range []string{
		"IMDS, new connection per sequence, 1 clients", "IMDS, kept-alive connection, 8 clients", "container endpoint, kept-alive connection, 8 clients",
		"throughput ≥ 1.0× ec2-metadata-mock", "throughput ≥ 1.0× aws-vault", "CPU per sequence ≤ 1.15× bare",
		"`mfad-daemon` (what the login service runs) exec to the first credential document", "`mfad serve` by hand", "AWS_CA_BUNDLE", "idle private memory", "## Targets",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	// The container endpoint's targets are at 8 and 32 clients.
	if strings.Contains(text, "container endpoint, new connection per sequence, 1 clients") {
		t.Errorf("report has the container endpoint at one client:\n%s", text)
	}
	// Every start-up round started every command, and the bare server;
	// the rounds were spread over the load shapes, the last after them
	// all, not made all at once.
	for _, starts := range [][]time.Duration{rep.startup, rep.startupCA, rep.serveStart, rep.bareStart} {
		if len(starts) != 2 {
			t.Errorf("%d starts timed, want one per round (2): %v", len(starts), starts)
		}
	}
	if after := rep.startAfter; len(after) != 2 || after[0] == after[1] || after[1] != len(rep.rows) {
		t.Errorf("start-up rounds came after %v of the %d load shapes: want two apart, the last after all", after, len(rep.rows))
	}
	if rep.allocsErr != "" || rep.allocs == 0 {
		t.Errorf("handler allocations: %v %s", rep.allocs, rep.allocsErr)
	}
	for _, r := range rep.rows {
		for _, results := range r.reps {
			for j, res := range results {
				if res.sequences == 0 || res.cpu == 0 && res.sequences > 1000 {
					t.Errorf("%s, %s: %d sequences, CPU %v", r.title(), r.servers[j], res.sequences, res.cpu)
				}
			}
		}
	}
	if rep.cliSkipped != "" {
		t.Errorf("client view skipped: %s", rep.cliSkipped)
	}
}

// TestCompare runs the A/B comparison small, a build against itself: it
// must fail no sequence and report every load shape with its ratios.
func TestCompare(t *testing.T) {
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir, "../mfad", "../mfad-daemon")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	text, err := compare(config{mfad: filepath.Join(dir, "mfad"), duration: 100 * time.Millisecond, reps: 2, levels: []int{2}, runs: 2}, filepath.Join(dir, "mfad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"IMDS, new connection per sequence, 2 clients", "IMDS, kept-alive connection, 2 clients",
		"container endpoint, new connection per sequence, 2 clients", "container endpoint, kept-alive connection, 2 clients", "B: " + filepath.Join(dir, "mfad") + " serve",
		"start-up, exec to the first credential document (2 pairs)"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "NaN") || strings.Contains(text, "Inf") {
		t.Errorf("report has a ratio of nothing:\n%s", text)
	}
}

// TestServersTakeTurns checks that within a repetition the servers take
// turns in slices of at most c.slice, rather than one turn each, and that
// a repetition's result adds its slices up: every sequence served, the
// whole duration, latencies in order.
func TestServersTakeTurns(t *testing.T) {
	var mu sync.Mutex
	var timeline []int // which server answered each request, in order
	servers := make([]endpoint, 3)
	for i := range servers {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			timeline = append(timeline, i)
			mu.Unlock()
			w.Write([]byte("{}"))
		}))
		defer s.Close()
		servers[i] = endpoint{name: fmt.Sprint(i), addr: s.Listener.Addr().String(), pid: os.Getpid(), container: "/c"}
	}
	c := config{duration: 400 * time.Millisecond, slice: 100 * time.Millisecond, reps: 2}
	r := loadRows(c, true, false, 2, servers)

	turns := 1
	for k := 1; k < len(timeline); k++ {
		if timeline[k] != timeline[k-1] {
			turns++
		}
	}
	// 4 slices of each server per repetition (and a warm-up each): with
	// three servers, rotating the order never puts one twice in a row.
	if want := c.reps * 4 * len(servers); turns < want {
		t.Errorf("the servers took %d turns, want at least %d", turns, want)
	}
	served := make([]int, len(servers))
	for _, i := range timeline {
		served[i]++
	}
	for j := range servers {
		total := 0
		for _, results := range r.reps {
			res := results[j]
			total += res.sequences
			if res.elapsed < c.duration {
				t.Errorf("server %d ran %v in a repetition, want at least %v", j, res.elapsed, c.duration)
			}
			if res.sequences != len(res.latencies) || !slices.IsSorted(res.latencies) || res.failures != 0 {
				t.Errorf("server %d: %d sequences, %d latencies (sorted %v), %d failures", j, res.sequences, len(res.latencies), slices.IsSorted(res.latencies), res.failures)
			}
		}
		// The warm-up's sequences are served but not counted.
		if total == 0 || total > served[j] {
			t.Errorf("server %d: %d sequences counted, %d served", j, total, served[j])
		}
	}
}

// TestKeptAliveFirst checks that the kept-alive shapes run before any
// new-connection shape (whose TIME_WAIT connections would disturb them),
// every shape once, and that the report keeps its order.
func TestKeptAliveFirst(t *testing.T) {
	c := config{levels: []int{1, 8, 32}}
	shapes := c.shapes()
	if len(shapes) != 12 {
		t.Fatalf("%d shapes, want 12 (2 endpoints × 2 kinds × 3 client counts): %v", len(shapes), shapes)
	}
	if s := shapes[0]; s.container || !s.fresh || s.n != 1 {
		t.Errorf("the report begins with %+v, want IMDS new connections at 1 client", s)
	}
	order := keptAliveFirst(shapes)
	seen := map[int]bool{}
	var freshYet bool
	for _, i := range order {
		if seen[i] {
			t.Errorf("shape %d runs twice", i)
		}
		seen[i] = true
		s := shapes[i]
		freshYet = freshYet || s.fresh
		if freshYet && !s.fresh {
			t.Errorf("kept-alive shape %+v runs after a new-connection one: %v", s, order)
		}
	}
	if len(seen) != len(shapes) {
		t.Errorf("%d of %d shapes run", len(seen), len(shapes))
	}
}

// TestReportWithoutLoads: a run whose -loads and -concurrency leave no
// shape (the container endpoint at one client, used to time start-up
// alone) still reports start-up, memory and the targets.
func TestReportWithoutLoads(t *testing.T) {
	rep := &report{duration: time.Second, reps: 3, turn: 500 * time.Millisecond, startup: []time.Duration{5 * time.Millisecond}}
	text := rep.markdown()
	for _, want := range []string{"for 1s, 3 times", "exec to the first credential document", "## Targets"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

// TestSpread: start-up rounds are dealt out over the run, every one of
// them, none more than one apart from another slot's, and all at once
// when there is no load shape to spread them over.
func TestSpread(t *testing.T) {
	for _, c := range []struct{ n, slots int }{{10, 11}, {10, 7}, {2, 7}, {30, 1}, {0, 4}, {7, 3}} {
		counts := spread(c.n, c.slots)
		if len(counts) != c.slots {
			t.Fatalf("spread(%d, %d) = %v: want %d slots", c.n, c.slots, counts, c.slots)
		}
		sum := 0
		for _, k := range counts {
			sum += k
			if k < c.n/c.slots || k > (c.n+c.slots-1)/c.slots {
				t.Errorf("spread(%d, %d) = %v: a slot holds %d", c.n, c.slots, counts, k)
			}
		}
		if sum != c.n {
			t.Errorf("spread(%d, %d) = %v: %d rounds, want %d", c.n, c.slots, counts, sum, c.n)
		}
	}
}
