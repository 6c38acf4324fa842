package main

import (
	"fmt"
	"strings"
	"time"
)

// target is one of the goals the issue set, and whether this run met it.
type target struct {
	name, measured string
	met            bool
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func (r *report) targets() []target {
	var ts []target
	for _, row := range r.fresh {
		ratio := row.mfad.rate() / row.ceiling.rate()
		ts = append(ts, target{fmt.Sprintf("fresh connections, concurrency %d: mfad/ceiling ≥ 0.80", row.concurrency), fmt.Sprintf("%.2f", ratio), ratio >= 0.80})
	}
	for _, row := range r.alive {
		ratio := row.mfad.rate() / row.ceiling.rate()
		ts = append(ts, target{fmt.Sprintf("keep-alive, concurrency %d: mfad/ceiling ≥ 0.90", row.concurrency), fmt.Sprintf("%.2f", ratio), ratio >= 0.90})
	}
	for _, row := range r.fresh {
		if row.concurrency == 32 {
			p99 := row.mfad.percentile(0.99)
			ts = append(ts, target{"p99 of a fresh-connection sequence at concurrency 32 < 2 ms", ms(p99), p99 < 2*time.Millisecond})
		}
	}
	startup := median(r.startup)
	ts = append(ts, target{"start-up to serving ≤ 50 ms (median)", ms(startup), startup <= 50*time.Millisecond})
	ts = append(ts, target{"idle RSS after unlock ≤ 15 MB", fmt.Sprintf("%.1f MB", float64(r.idleRSS)/1024), r.idleRSS > 0 && r.idleRSS <= 15*1024})
	ts = append(ts, target{"peak RSS under load ≤ 40 MB", fmt.Sprintf("%.1f MB", float64(r.peakRSS)/1024), r.peakRSS > 0 && r.peakRSS <= 40*1024})
	if r.cliSkipped == "" {
		ratio := float64(median(r.cliMfad)) / float64(median(r.cliEnv))
		ts = append(ts, target{"AWS CLI through mfad within 1.05× of environment credentials", fmt.Sprintf("%.3f×", ratio), ratio <= 1.05})
	}
	return ts
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# mfad benchmark\n\nMachine: %s. Ratios compare mfad with a plain net/http server serving the same three bodies (the ceiling), measured in the same run.\n", r.machine)
	section := func(title string, rows []loadRow) {
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		b.WriteString("| concurrency | mfad seq/s | ceiling seq/s | mfad/ceiling | mfad p50 | mfad p99 | mfad p99.9 | ceiling p50 | ceiling p99 | ceiling p99.9 |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, row := range rows {
			m, c := row.mfad, row.ceiling
			fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.2f | %s | %s | %s | %s | %s | %s |\n", row.concurrency, m.rate(), c.rate(), m.rate()/c.rate(),
				ms(m.percentile(0.5)), ms(m.percentile(0.99)), ms(m.percentile(0.999)), ms(c.percentile(0.5)), ms(c.percentile(0.99)), ms(c.percentile(0.999)))
		}
	}
	section("Credential fetch, a fresh TCP connection per sequence (a new CLI process)", r.fresh)
	section("Credential fetch, one kept-alive connection per client (a long-running SDK)", r.alive)
	b.WriteString("\nA sequence is what an SDK does: PUT the token, GET the role list, GET the credentials.\n")

	fmt.Fprintf(&b, "\n## Commands and memory\n\n| measure | median | min | max |\n|---|---:|---:|---:|\n")
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"`mfad serve` exec to the IMDS port answering", r.startup}, {"`mfad status`", r.status}, {"`mfad unlock --code` (local fake STS)", r.unlock},
		{"`aws configure export-credentials` through mfad", r.cliMfad}, {"`aws configure export-credentials` with credentials in the environment", r.cliEnv}} {
		if len(m.ds) == 0 {
			continue
		}
		med := median(m.ds)
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.name, ms(med), ms(m.ds[0]), ms(m.ds[len(m.ds)-1]))
	}
	fmt.Fprintf(&b, "| daemon RSS, idle after unlock | %.1f MB | | |\n| of which private memory (RssAnon; the rest is the binary's shared, clean pages) | %.1f MB | | |\n| daemon peak RSS (high-water mark) after the load | %.1f MB | | |\n",
		float64(r.idleRSS)/1024, float64(r.idleAnon)/1024, float64(r.peakRSS)/1024)
	if r.cliSkipped != "" {
		fmt.Fprintf(&b, "\nClient view skipped: %s.\n", r.cliSkipped)
	}
	fmt.Fprintf(&b, "\n## Targets\n\n| target | measured | met |\n|---|---:|---|\n")
	for _, t := range r.targets() {
		met := "yes"
		if !t.met {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.name, t.measured, met)
	}
	if r.failures > 0 {
		fmt.Fprintf(&b, "\n**%d sequences failed.**\n", r.failures)
	}
	return b.String()
}
