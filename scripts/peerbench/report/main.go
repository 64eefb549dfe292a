// Command report turns the runs of scripts/peerbench.sh into one markdown
// table: per scenario, the median and range of each system's throughput
// (or end-to-end latency), broker CPU per message, the ratios of Bolide
// to NATS JetStream and to Apache RocketMQ, then the machine limits
// measured in the same run and produce throughput as a fraction of them.
//
//	go run ./scripts/peerbench/report --runs runs.tsv --limits limits.log --size 1024 [--out table.md]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	runsPath := flag.String("runs", "", "runs.tsv written by peerbench.sh")
	limitsPath := flag.String("limits", "", "output of scripts/peerbench/limits")
	size := flag.Int("size", 1024, "message size in bytes (for MiB/s)")
	rate := flag.Float64("rate", 20000, "offered load of the latency scenario (msg/s), for its label")
	header := flag.String("header", "", "a line printed above the table (the command and settings)")
	out := flag.String("out", "", "also write the markdown here")
	flag.Parse()
	if err := report(*runsPath, *limitsPath, *size, *rate, *header, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func report(runsPath, limitsPath string, size int, rate float64, header, out string, stdout io.Writer) error {
	f, err := os.Open(runsPath)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	runs, err := readRuns(f)
	if err != nil {
		return err
	}
	lim, err := readLimits(limitsPath)
	if err != nil {
		return err
	}
	outcomes := make([]outcome, len(runs))
	for i, r := range runs {
		b, err := os.ReadFile(r.Log)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		outcomes[i] = parseOutput(string(b))
	}
	var sb strings.Builder
	if header != "" {
		sb.WriteString(header + "\n\n")
	}
	render(&sb, runs, outcomes, lim, size, rate)
	if _, err := io.WriteString(stdout, sb.String()); err != nil {
		return err
	}
	if out != "" {
		if err := os.WriteFile(out, []byte(sb.String()), 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}

// The scenarios and systems, in table order.
var (
	scenarios = []string{"async", "sync", "batch", "consume", "latency"}
	systems   = []string{"bolide", "nats", "rocketmq", "ceiling"}
	sysLabel  = map[string]string{"bolide": "Bolide", "nats": "NATS JetStream", "rocketmq": "Apache RocketMQ",
		"ceiling": "Ceiling (stores nothing)"}
	// ratios are the ratio columns, each shown when both systems ran: Bolide
	// against each peer, Bolide against the ceiling (the share it reaches of
	// what its network and codec path allow with this load generator), and
	// the ceiling against NATS (what Bolide could show if storing were free).
	ratios = []struct{ num, den string }{{"bolide", "nats"}, {"bolide", "rocketmq"}, {"bolide", "ceiling"}, {"ceiling", "nats"}}
)

// ratioLabel names a ratio column's system briefly.
func ratioLabel(s string) string {
	if s == "ceiling" {
		return "ceiling"
	}
	return sysLabel[s]
}

func scenarioLabel(s string, rate float64) string {
	switch s {
	case "async":
		return "produce, async flush (NATS default sync_interval)"
	case "sync":
		return "produce, sync flush (NATS sync_interval: always)"
	case "batch":
		return "produce in batch requests, async flush (NATS fast batch publish)"
	case "consume":
		return "consume a pre-filled backlog"
	case "latency":
		return fmt.Sprintf("end-to-end latency at %s msg/s offered", short(rate))
	}
	return s
}

// cell is the aggregate of one system in one scenario.
type cell struct {
	ok, failed      int
	rate            []float64 // msg/s of successful runs
	p50, p99, p999  []float64 // ms, latency runs
	cpuPerMsg       []float64 // µs of broker CPU per message
	medRate, medP99 float64
	hasRate, hasP99 bool
}

func aggregate(runs []run, outs []outcome, scenario, system string) *cell {
	c := &cell{}
	for i, r := range runs {
		if r.Scenario != scenario || r.System != system {
			continue
		}
		o := outs[i]
		good := r.Exit == 0 && o.Errors == 0
		if scenario == "latency" {
			good = good && o.HasLatency
		} else {
			good = good && o.MsgPerSec > 0
		}
		if !good {
			c.failed++
			continue
		}
		c.ok++
		c.rate = append(c.rate, o.MsgPerSec)
		if o.HasLatency {
			c.p50, c.p99, c.p999 = append(c.p50, o.P50), append(c.p99, o.P99), append(c.p999, o.P999)
		}
		if r.CPU >= 0 && r.Count > 0 {
			c.cpuPerMsg = append(c.cpuPerMsg, r.CPU/float64(r.Count)*1e6)
		}
	}
	if len(c.rate) > 0 {
		c.medRate, c.hasRate = median(c.rate), true
	}
	if len(c.p99) > 0 {
		c.medP99, c.hasP99 = median(c.p99), true
	}
	return c
}

func render(w *strings.Builder, runs []run, outs []outcome, lim map[string]float64, size int, rate float64) {
	present := map[string]bool{}
	for _, r := range runs {
		present[r.Scenario+"/"+r.System] = true
		present[r.System] = true
	}
	var cols []string
	for _, s := range systems {
		if present[s] {
			cols = append(cols, s)
		}
	}
	w.WriteString("| scenario |")
	for _, s := range cols {
		w.WriteString(" " + sysLabel[s] + " |")
	}
	var ratioCols []struct{ num, den string }
	for _, r := range ratios {
		if present[r.num] && present[r.den] {
			ratioCols = append(ratioCols, r)
			w.WriteString(" " + ratioLabel(r.num) + " / " + ratioLabel(r.den) + " |")
		}
	}
	w.WriteString("\n|---|" + strings.Repeat("---|", len(cols)+len(ratioCols)) + "\n")

	cells := map[string]*cell{}
	for _, sc := range scenarios {
		row := false
		for _, s := range cols {
			if present[sc+"/"+s] {
				row = true
			}
		}
		if !row {
			continue
		}
		fmt.Fprintf(w, "| %s |", scenarioLabel(sc, rate))
		for _, s := range cols {
			if !present[sc+"/"+s] {
				w.WriteString(" — |")
				continue
			}
			c := aggregate(runs, outs, sc, s)
			cells[sc+"/"+s] = c
			w.WriteString(" " + c.text(sc, size, rate) + " |")
		}
		for _, r := range ratioCols {
			b, o := cells[sc+"/"+r.num], cells[sc+"/"+r.den]
			switch {
			case b == nil || o == nil:
				w.WriteString(" — |")
			case sc == "latency" && b.hasP99 && o.hasP99 && o.medP99 > 0:
				fmt.Fprintf(w, " p99 %s× (lower is better) |", ratio(b.medP99/o.medP99))
			case sc != "latency" && b.hasRate && o.hasRate && o.medRate > 0:
				fmt.Fprintf(w, " %s× |", ratio(b.medRate/o.medRate))
			default:
				w.WriteString(" — |")
			}
		}
		w.WriteString("\n")
	}
	w.WriteString("\nCells: median msg/s over the successful runs (min–max), payload MiB/s, broker CPU µs per message " +
		"(utime+stime of the broker process during the client run ÷ messages); latency rows: median p50 / p99 / p999 " +
		"of produce-to-consume latency (p99 min–max), flagged when the producers could not send at the offered load.\n")

	if len(lim) == 0 {
		return
	}
	w.WriteString("\n| machine limit (same run) | value |\n|---|---|\n")
	for _, l := range []struct{ key, label, unit string }{
		{"loopback_MBps", "loopback TCP stream, 1 connection, 64 KiB writes", "MB/s"},
		{"write_MBps", "sequential write, 1 MiB writes, no sync", "MB/s"},
		{"write_sync_MBps", "sequential write, 1 MiB writes, fdatasync after each", "MB/s"},
		{"fdatasync_p50_us", "4 KiB append + fdatasync, p50", "µs"},
		{"fdatasync_p99_us", "4 KiB append + fdatasync, p99", "µs"},
		{"fdatasync_ops", "4 KiB append + fdatasync, rate", "ops/s"},
	} {
		if v, ok := lim[l.key]; ok {
			fmt.Fprintf(w, "| %s | %.0f %s |\n", l.label, v, l.unit)
		}
	}
	loop, disk := lim["loopback_MBps"], lim["write_sync_MBps"]
	if loop <= 0 || disk <= 0 {
		return
	}
	w.WriteString("\n| produce throughput as a fraction of the limits | payload MB/s | of loopback | of write+fdatasync |\n|---|---|---|---|\n")
	for _, sc := range []string{"async", "sync", "batch"} {
		for _, s := range cols {
			c := cells[sc+"/"+s]
			if c == nil || !c.hasRate {
				continue
			}
			mb := c.medRate * float64(size) / 1e6
			ofDisk := fmt.Sprintf("%.1f%%", 100*mb/disk)
			if s == "ceiling" {
				ofDisk = "— (writes nothing)"
			}
			fmt.Fprintf(w, "| %s, %s | %.1f | %.1f%% | %s |\n", sysLabel[s], scenarioLabel(sc, rate), mb, 100*mb/loop, ofDisk)
		}
	}
}

// text renders a cell; rate is the latency scenario's offered load.
func (c *cell) text(scenario string, size int, rate float64) string {
	var parts []string
	switch {
	case c.ok == 0:
		parts = append(parts, "no successful run")
	case scenario == "latency":
		parts = append(parts, fmt.Sprintf("%s / %s / %s ms (p99 %s–%s)",
			ms(median(c.p50)), ms(c.medP99), ms(median(c.p999)), ms(slices.Min(c.p99)), ms(slices.Max(c.p99))))
	default:
		parts = append(parts, fmt.Sprintf("%s msg/s (%s–%s), %.1f MiB/s",
			short(c.medRate), short(slices.Min(c.rate)), short(slices.Max(c.rate)), c.medRate*float64(size)/(1<<20)))
	}
	if scenario == "latency" && c.hasRate && c.medRate < 0.95*rate {
		// The latencies then describe an overloaded system, not the
		// offered load.
		parts = append(parts, fmt.Sprintf("offered load NOT sustained: %s msg/s sent", short(c.medRate)))
	}
	if len(c.cpuPerMsg) > 0 {
		parts = append(parts, fmt.Sprintf("CPU %.1f µs/msg", median(c.cpuPerMsg)))
	}
	if c.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d runs failed", c.failed, c.failed+c.ok))
	}
	return strings.Join(parts, "; ")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// short prints 123456 as 123.5k.
func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func ms(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// ratio renders a ratio with two decimals, or three significant digits
// below 0.1 (a latency ratio can be 0.004, which two decimals show as 0).
func ratio(r float64) string {
	if r < 0.1 {
		return strconv.FormatFloat(r, 'g', 3, 64)
	}
	return fmt.Sprintf("%.2f", r)
}
