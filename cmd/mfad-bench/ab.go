package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// compare measures two daemon builds against each other: this build's
// (A: what the login service runs) and other (B, another build's
// mfad-daemon or mfad), first their start-up (c.runs starts of each, in
// turn), then under load. They serve the same restored session in turn, one
// at a time (one daemon per runtime directory), c.reps times per load
// shape, each run preceded by a warm-up; the report gives B's throughput
// and CPU per sequence over A's, the median of the ratios of each pair
// of runs. Changes of a few percent that the full run's noise (±0.05 per
// ratio) hides show here: the same build against itself gives medians
// within about ±0.02 over 10 pairs of 2 s runs on a 2-core machine.
func compare(c config, other string) (string, error) {
	b, err := newBench(c.mfad, false)
	if err != nil {
		return "", err
	}
	defer b.close()
	if _, err := b.unlock(1); err != nil {
		return "", err
	}
	builds := [][]string{b.serviceCommand(), {other}}
	if filepath.Base(other) == "mfad" {
		builds[1] = []string{other, "serve"}
	}
	token := ""
	var out strings.Builder
	fmt.Fprintf(&out, "# mfad A/B\n\nMachine: %s. A: %s. B: %s. Each load shape: %d pairs of %s runs, A then B; a ratio is B ÷ A, the median over the pairs (min–max in brackets).\n\n",
		machine(), strings.Join(builds[0], " "), strings.Join(builds[1], " "), c.reps, c.duration)
	if err := compareStartUp(&out, b, builds, c.runs); err != nil {
		return "", err
	}
	out.WriteString("| load | A seq/s | B seq/s | throughput B ÷ A | A CPU/seq | B CPU/seq | CPU B ÷ A |\n|---|---:|---:|---|---:|---:|---|\n")
	// Kept-alive shapes first, as in the full run.
	shapes := c.shapes()
	for _, k := range keptAliveFirst(shapes) {
		container, fresh, n := shapes[k].container, shapes[k].fresh, shapes[k].n
		r := row{container: container, fresh: fresh, concurrency: n}
		var results [2][]loadResult
		for range c.reps {
			for i, command := range builds {
				d, _, err := b.start(command, true, nil)
				if err != nil {
					return "", err
				}
				if container && token == "" {
					if token, err = b.containerToken(); err != nil {
						d.stop()
						return "", err
					}
				}
				e := endpoint{name: "mfad", addr: d.addr, pid: d.pid()}
				if container {
					e.container, e.authorization = "/profiles/default", token
				}
				runLoad(e, n, c.duration/5, fresh) // warm up
				res := runLoad(e, n, c.duration, fresh)
				d.stop()
				if res.failures > 0 {
					return "", fmt.Errorf("%s, %s: %d sequences failed, first: %v", r.title(), strings.Join(command, " "), res.failures, res.firstErr)
				}
				results[i] = append(results[i], res)
			}
		}
		rate := func(i int) []float64 { return mapResults(results[i], loadResult.rate) }
		cpu := func(i int) []float64 {
			return mapResults(results[i], func(l loadResult) float64 { return float64(l.cpuPerSequence()) })
		}
		fmt.Fprintf(&out, "| %s | %.0f | %.0f | %s | %s | %s | %s |\n", r.title(),
			middle(rate(0)), middle(rate(1)), ratioSummary(rate(1), rate(0)),
			us(time.Duration(middle(cpu(0)))), us(time.Duration(middle(cpu(1)))), ratioSummary(cpu(1), cpu(0)))
	}
	return out.String(), nil
}

// compareStartUp starts each build runs times in turn, A then B, and
// reports the time from exec to the first credential document (the
// session restored from the kernel's keyring, as at every restart).
// No runs, no row.
func compareStartUp(out *strings.Builder, b *bench, builds [][]string, runs int) error {
	if runs < 1 {
		return nil
	}
	var took [2][]float64
	for range runs {
		for i, command := range builds {
			d, t, err := b.start(command, true, nil)
			if err != nil {
				return err
			}
			d.stop()
			took[i] = append(took[i], float64(t))
		}
	}
	ms := func(v []float64) string { return fmt.Sprintf("%.2f ms", middle(v)/float64(time.Millisecond)) }
	fmt.Fprintf(out, "| start-up, exec to the first credential document (%d pairs) | A %s | B %s | B ÷ A %s |\n|---|---:|---:|---|\n\n",
		runs, ms(took[0]), ms(took[1]), ratioSummary(took[1], took[0]))
	return nil
}

func mapResults(rs []loadResult, f func(loadResult) float64) []float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return v
}

// middle is the median of v.
func middle(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}

// ratioSummary is the median of b[i]/a[i], and their range.
func ratioSummary(b, a []float64) string {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = b[i] / a[i]
	}
	return fmt.Sprintf("%.3f (%.2f–%.2f)", middle(r), slices.Min(r), slices.Max(r))
}
