package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// target is one of the goals set for mfad, and whether this run met it.
type target struct {
	name, measured string
	met            bool
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }
func mb(kb int64) string        { return fmt.Sprintf("%.2f MB", float64(kb)/1024) }

func (r row) title() string {
	endpoint, conns := "IMDS", "kept-alive connection"
	if r.container {
		endpoint = "container endpoint"
	}
	if r.fresh {
		conns = "new connection per sequence"
	}
	return fmt.Sprintf("%s, %s, %d clients", endpoint, conns, r.concurrency)
}

// ratio is the median over the repetitions of f(mfad's result, server j's),
// each repetition's servers having run back to back.
func (r row) ratio(j int, f func(mfad, other loadResult) float64) float64 {
	var rs []float64
	for _, results := range r.reps {
		rs = append(rs, f(results[0], results[j]))
	}
	slices.Sort(rs)
	return rs[len(rs)/2]
}

func throughput(m, o loadResult) float64 { return m.rate() / o.rate() }
func cpuRatio(m, o loadResult) float64 {
	return float64(m.cpuPerSequence()) / float64(o.cpuPerSequence())
}
func p99Ratio(m, o loadResult) float64 {
	return float64(m.percentile(0.99)) / float64(o.percentile(0.99))
}

// median of server j's figure f over the repetitions.
func (r row) median(j int, f func(loadResult) float64) float64 {
	var fs []float64
	for _, results := range r.reps {
		fs = append(fs, f(results[j]))
	}
	slices.Sort(fs)
	return fs[len(fs)/2]
}

// ratioText shows a ratio against its target to three places: at two, a
// ratio just under 1.0 showed as "1.00" beside "no".
func ratioText(x float64) string { return fmt.Sprintf("%.3f", x) }

func (r *report) targets() []target {
	var ts []target
	for _, row := range r.rows {
		if row.concurrency >= 8 {
			t := row.ratio(1, throughput)
			ts = append(ts, target{row.title() + ": throughput ≥ 0.93× bare", ratioText(t), t >= 0.93})
			c := row.ratio(1, cpuRatio)
			ts = append(ts, target{row.title() + ": CPU per sequence ≤ 1.15× bare", ratioText(c), c <= 1.15})
		}
		p := row.ratio(1, p99Ratio)
		ts = append(ts, target{row.title() + ": p99 ≤ 1.2× bare", ratioText(p), p <= 1.2})
		for j := 2; j < len(row.servers); j++ {
			t := row.ratio(j, throughput)
			ts = append(ts, target{row.title() + ": throughput ≥ 1.0× " + row.servers[j], ratioText(t), t >= 1.0})
		}
	}
	ts = append(ts,
		target{"idle RSS after unlock ≤ 12 MB", mb(r.idle.rss), r.idle.rss > 0 && r.idle.rss <= 12*1024},
		target{"idle private memory after unlock ≤ 2.5 MB", mb(r.idle.private), r.idle.private > 0 && r.idle.private*10 <= 25*1024},
		target{"peak RSS after the load ≤ 30 MB", mb(r.peakRSS), r.peakRSS > 0 && r.peakRSS <= 30*1024})
	for _, s := range []struct {
		name string
		ds   []time.Duration
	}{{"start to the first credential document ≤ 8 ms (median)", r.startup}, {"the same with AWS_CA_BUNDLE set ≤ 8 ms", r.startupCA}} {
		m := median(s.ds)
		ts = append(ts, target{s.name, ms(m), m > 0 && m <= 8*time.Millisecond})
	}
	if r.allocsErr == "" {
		ts = append(ts, target{"allocations per credential sequence in the handler ≤ 6", fmt.Sprintf("%.0f", r.allocs), r.allocs <= 6})
	} else {
		ts = append(ts, target{"allocations per credential sequence in the handler ≤ 6", "not measured", false})
	}
	return ts
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# mfad benchmark\n\nMachine: %s. mfad: %s.\n\n", r.machine, r.build)
	fmt.Fprintf(&b, "Each load shape runs every server for %s, %d times; within a repetition the servers take turns of %s, rotating which goes first, so that all meet the same spells of a machine whose speed drifts; a ratio is the median over the repetitions of the ratio within one repetition. "+
		"The kept-alive shapes run before the new-connection ones, whose connections left in TIME_WAIT the kernel expires over the next minute. "+
		"Clients speak HTTP/1.1 on raw sockets with requests built once, so that the load generator leaves the cores to the servers. "+
		"An IMDS sequence is what an SDK does: PUT the token, GET the role list, GET the credentials (aws-vault has no token path: after the PUT's 404 its clients go on without one, as SDKs do); "+
		"a container sequence is one GET with the Authorization header. "+
		"bare is net/http's ServeMux answering fixed bodies and checking nothing; aws-vault is a stand-in doing per request what aws-vault's EC2 and ECS servers do; "+
		"ec2-metadata-mock is amazon-ec2-metadata-mock v1.13.0, at one client only (it fails with concurrent map access at two or more).\n", r.duration, r.reps, r.turn)

	b.WriteString("\n## Credential fetches\n\n| load | mfad seq/s | ÷ bare | ÷ aws-vault | ÷ ec2-metadata-mock | mfad CPU/seq | ÷ bare | mfad p99 | ÷ bare |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.rows {
		peer := func(name string) string {
			if j := slices.Index(row.servers, name); j > 0 {
				return fmt.Sprintf("%.2f", row.ratio(j, throughput))
			}
			return "–"
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %s | %s | %s | %.2f | %s | %.2f |\n", row.title(),
			row.median(0, loadResult.rate), row.ratio(1, throughput), peer("aws-vault"), peer("ec2-metadata-mock"),
			us(time.Duration(row.median(0, func(l loadResult) float64 { return float64(l.cpuPerSequence()) }))), row.ratio(1, cpuRatio),
			ms(time.Duration(row.median(0, func(l loadResult) float64 { return float64(l.percentile(0.99)) }))), row.ratio(1, p99Ratio))
	}
	b.WriteString("\n### Every server (medians)\n\n| load | server | seq/s | CPU/seq | p50 | p99 | p99.9 |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, row := range r.rows {
		for j, name := range row.servers {
			med := func(f func(loadResult) time.Duration) string {
				return ms(time.Duration(row.median(j, func(l loadResult) float64 { return float64(f(l)) })))
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %s | %s |\n", row.title(), name, row.median(j, loadResult.rate),
				us(time.Duration(row.median(j, func(l loadResult) float64 { return float64(l.cpuPerSequence()) }))),
				med(func(l loadResult) time.Duration { return l.percentile(0.5) }),
				med(func(l loadResult) time.Duration { return l.percentile(0.99) }),
				med(func(l loadResult) time.Duration { return l.percentile(0.999) }))
		}
	}

	fmt.Fprintf(&b, "\n## Start-up, commands and memory\n\n"+
		"Start-up is timed in %d rounds spread over the run (before each load shape, and after the last), each starting every command below once and the bare server: a median of starts made all in one minute would be that minute's on a machine whose speed drifts.\n\n"+
		"| measure | median | min | max |\n|---|---:|---:|---:|\n", len(r.startup))
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"`" + r.startCmd + "` (what the login service runs) exec to the first credential document (session restored as at a restart: from the kernel's keyring; the file keyring opens once serving)", r.startup},
		{"the same with AWS_CA_BUNDLE set (150 certificates)", r.startupCA},
		{"`mfad serve` by hand (it hands over to mfad-daemon), the same", r.serveStart},
		{"for scale: the bare net/http server, exec to its first credential document", r.bareStart},
		{"`mfad status`", r.status}, {"`mfad unlock --code` (local fake STS)", r.unlock},
		{"`aws configure export-credentials` through mfad", r.cliMfad}, {"`aws configure export-credentials` with credentials in the environment", r.cliEnv}} {
		if len(m.ds) == 0 {
			continue
		}
		med := median(m.ds)
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.name, ms(med), ms(m.ds[0]), ms(m.ds[len(m.ds)-1]))
	}
	fmt.Fprintf(&b, "\n| process, idle (%s after a few credential fetches) | RSS | private (RssAnon) |\n|---|---:|---:|\n| mfad, after unlock | %s | %s |\n", r.idleAfter, mb(r.idle.rss), mb(r.idle.private))
	for _, name := range []string{"bare", "aws-vault", "ec2-metadata-mock"} {
		if m, ok := r.peers[name]; ok {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", name, mb(m.rss), mb(m.private))
		}
	}
	fmt.Fprintf(&b, "\nmfad's peak RSS (high-water mark) after the load: %s.\n", mb(r.peakRSS))
	if r.allocsErr != "" {
		fmt.Fprintf(&b, "\nHandler allocations not measured: %s\n", r.allocsErr)
	}
	if r.cliSkipped != "" {
		fmt.Fprintf(&b, "\nClient view skipped: %s.\n", r.cliSkipped)
	}
	fmt.Fprintf(&b, "\n## Targets\n\n| target | measured | met |\n|---|---:|---|\n")
	met := 0
	ts := r.targets()
	for _, t := range ts {
		word := "yes"
		if t.met {
			met++
		} else {
			word = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.name, t.measured, word)
	}
	fmt.Fprintf(&b, "\n%d of %d targets met.\n", met, len(ts))
	if len(r.failures) > 0 {
		b.WriteString("\n## Failed sequences\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	return b.String()
}
