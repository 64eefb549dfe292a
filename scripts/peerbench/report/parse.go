package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// run is one line of runs.tsv: one client run against one broker.
type run struct {
	Scenario string
	System   string
	Rep      int
	Exit     int
	CPU      float64 // broker CPU seconds (utime+stime) during the client run; < 0 unknown
	Log      string
	Count    int64 // messages the run was asked for
}

// outcome is what a client's output says.
type outcome struct {
	MsgPerSec float64 // 0 when the output has no throughput
	Errors    int64   // failed sends or pulls, or messages not received
	// End-to-end latency quantiles in ms (latency runs).
	P50, P99, P999 float64
	HasLatency     bool
}

// readRuns parses runs.tsv: scenario, system, rep, exit code, broker CPU
// seconds ("-" when unknown), log path, message count; '#' starts a comment.
func readRuns(r io.Reader) ([]run, error) {
	var runs []run
	sc := bufio.NewScanner(r)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("report: runs line %d: %d fields, want 7", ln, len(f))
		}
		rep, err1 := strconv.Atoi(f[2])
		exit, err2 := strconv.Atoi(f[3])
		count, err3 := strconv.ParseInt(f[6], 10, 64)
		cpu := -1.0
		var err4 error
		if f[4] != "-" {
			cpu, err4 = strconv.ParseFloat(f[4], 64)
		}
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				return nil, fmt.Errorf("report: runs line %d: %w", ln, err)
			}
		}
		runs = append(runs, run{Scenario: f[0], System: f[1], Rep: rep, Exit: exit, CPU: cpu, Log: f[5], Count: count})
	}
	return runs, sc.Err()
}

var (
	// bolide bench and natslat: "throughput: 123 msg/s, 1.2 MB/s".
	reThroughput = regexp.MustCompile(`(?m)^throughput: ([0-9.]+) msg/s`)
	// nats bench: "... aggregated stats: 76,062 msgs/sec ~ 74 MiB/sec" (several
	// clients) or "... stats: 65,839 msgs/sec ~ ..." (one).
	reNatsAggregate = regexp.MustCompile(`aggregated stats: ([0-9,.]+) msgs/sec`)
	reNatsStats     = regexp.MustCompile(`(?m)^\s*NATS .*stats: ([0-9,.]+) msgs/sec`)
	reErrors        = regexp.MustCompile(`(?m)^(?:produce|consume): \d+ messages, .* (\d+) errors$`)
	reMissing       = regexp.MustCompile(`(?m)^not received within the drain time: (\d+)$`)
	reE2E           = regexp.MustCompile(`(?m)^end-to-end latency: p50 ([0-9.]+)ms  p99 ([0-9.]+)ms  p999 ([0-9.]+)ms`)
)

// parseOutput reads a client's output. Throughput is the first
// "throughput:" line (bolide bench, natslat: the produce side) or the
// nats bench stats line; latency is the "end-to-end latency:" line.
func parseOutput(text string) outcome {
	var o outcome
	if m := reNatsAggregate.FindStringSubmatch(text); m != nil {
		o.MsgPerSec = num(m[1])
	} else if m := reNatsStats.FindStringSubmatch(text); m != nil {
		o.MsgPerSec = num(m[1])
	} else if m := reThroughput.FindStringSubmatch(text); m != nil {
		o.MsgPerSec = num(m[1])
	}
	for _, m := range reErrors.FindAllStringSubmatch(text, -1) {
		o.Errors += int64(num(m[1]))
	}
	if m := reMissing.FindStringSubmatch(text); m != nil {
		o.Errors += int64(num(m[1]))
	}
	if m := reE2E.FindStringSubmatch(text); m != nil {
		o.P50, o.P99, o.P999, o.HasLatency = num(m[1]), num(m[2]), num(m[3]), true
	}
	return o
}

func num(s string) float64 {
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil {
		return 0
	}
	return v
}

// readLimits parses the "limit <name> <value>" lines of the limits probe.
func readLimits(path string) (map[string]float64, error) {
	lim := map[string]float64{}
	if path == "" {
		return lim, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: limits: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "limit" {
			lim[f[1]] = num(f[2])
		}
	}
	return lim, nil
}
