package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOutput(t *testing.T) {
	for _, c := range []struct {
		log     string
		rate    float64
		errors  int64
		p99     float64
		latency bool
	}{
		{"nats-pub.log", 76062, 0, 0, false},
		{"nats-fetch.log", 65839, 0, 0, false},
		{"bolide-produce.log", 100000, 0, 0, false},
		{"bolide-failed.log", 99950, 10, 0, false},
		{"bolide-e2e.log", 4929, 0, 2, true},
		{"natslat.log", 4999, 0, 4, true},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", c.log))
		if err != nil {
			t.Fatal(err)
		}
		o := parseOutput(string(b))
		if o.MsgPerSec != c.rate || o.Errors != c.errors || o.HasLatency != c.latency || o.P99 != c.p99 {
			t.Errorf("%s: %+v", c.log, o)
		}
	}
	if o := parseOutput("consume: 10 messages, 0.0 MB in 1s, 0 errors\nnot received within the drain time: 3\n"); o.Errors != 3 {
		t.Errorf("missing messages not counted as errors: %+v", o)
	}
}

func TestReportTable(t *testing.T) {
	dir := t.TempDir()
	td, _ := filepath.Abs("testdata")
	p := func(name string) string { return filepath.Join(td, name) }
	tsv := strings.Join([]string{
		"# scenario system rep exit cpu log count",
		"async\tbolide\t1\t0\t0.5\t" + p("bolide-produce.log") + "\t20000",
		"async\tnats\t1\t0\t1.0\t" + p("nats-pub.log") + "\t20000",
		"async\tbolide\t2\t1\t0.5\t" + p("bolide-failed.log") + "\t20000",
		"async\trocketmq\t1\t0\t-\t" + p("bolide-produce.log") + "\t20000",
		"latency\tbolide\t1\t0\t0.1\t" + p("bolide-e2e.log") + "\t15000",
		"latency\tnats\t1\t0\t0.1\t" + p("natslat.log") + "\t15000",
	}, "\n")
	runs := filepath.Join(dir, "runs.tsv")
	if err := os.WriteFile(runs, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	md := filepath.Join(dir, "table.md")
	if err := report(runs, p("limits.log"), 1024, 5000, "peerbench --quick", md, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"peerbench --quick",
		"| scenario | Bolide | NATS JetStream | Apache RocketMQ | Bolide / NATS JetStream | Bolide / Apache RocketMQ |",
		// Bolide: one good run of 100k msg/s (25 µs CPU each), one failed.
		"| produce, async flush (NATS default sync_interval) | 100.0k msg/s (100.0k–100.0k), 97.7 MiB/s; CPU 25.0 µs/msg; 1 of 2 runs failed | 76.1k msg/s (76.1k–76.1k), 74.3 MiB/s; CPU 50.0 µs/msg | 100.0k msg/s (100.0k–100.0k), 97.7 MiB/s | 1.31× | 1.00× |",
		// Bolide sent 4,929 of 5,000 msg/s offered (sustained); at 5,200
		// offered it would be flagged.
		"| end-to-end latency at 5.0k msg/s offered | 0.50 / 2.00 / 4.00 ms (p99 2.00–2.00); CPU 6.7 µs/msg | 0.37 / 4.00 / 12.5 ms (p99 4.00–4.00); CPU 6.7 µs/msg | — | p99 0.50× (lower is better) | — |",
		"| loopback TCP stream, 1 connection, 64 KiB writes | 2048 MB/s |",
		"| Bolide, produce, async flush (NATS default sync_interval) | 102.4 | 5.0% | 10.0% |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks\n%s\nin\n%s", want, got)
		}
	}
	if b, err := os.ReadFile(md); err != nil || string(b) != got {
		t.Fatalf("--out file differs from stdout (%v)", err)
	}
	out.Reset()
	if err := report(runs, "", 1024, 5200, "", "", &out); err != nil {
		t.Fatal(err)
	}
	if want := "| end-to-end latency at 5.2k msg/s offered | 0.50 / 2.00 / 4.00 ms (p99 2.00–2.00); offered load NOT sustained: 4.9k msg/s sent; CPU 6.7 µs/msg |"; !strings.Contains(out.String(), want) {
		t.Errorf("table lacks\n%s\nin\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "machine limit") {
		t.Error("limits table printed without limits")
	}
}

// The ceiling (a broker that stores nothing) gets its own column and two
// ratios: Bolide's share of it and its own against NATS; it has no latency.
func TestReportCeiling(t *testing.T) {
	dir := t.TempDir()
	td, _ := filepath.Abs("testdata")
	ceiling := filepath.Join(dir, "ceiling.log")
	if err := os.WriteFile(ceiling, []byte("produce: 20000 messages, 20.5 MB in 100ms, 0 errors\nthroughput: 200000 msg/s, 204.8 MB/s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tsv := strings.Join([]string{
		"async\tbolide\t1\t0\t0.5\t" + filepath.Join(td, "bolide-produce.log") + "\t20000",
		"async\tnats\t1\t0\t1.0\t" + filepath.Join(td, "nats-pub.log") + "\t20000",
		"async\tceiling\t1\t0\t0.1\t" + ceiling + "\t20000",
		"latency\tbolide\t1\t0\t0.1\t" + filepath.Join(td, "bolide-e2e.log") + "\t15000",
		"latency\tnats\t1\t0\t0.1\t" + filepath.Join(td, "natslat.log") + "\t15000",
	}, "\n")
	runs := filepath.Join(dir, "runs.tsv")
	if err := os.WriteFile(runs, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := report(runs, filepath.Join(td, "limits.log"), 1024, 5000, "", "", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| Ceiling (stores nothing), produce, async flush (NATS default sync_interval) | 204.8 | 10.0% | — (writes nothing) |",
		"| scenario | Bolide | NATS JetStream | Ceiling (stores nothing) | Bolide / NATS JetStream | Bolide / ceiling | ceiling / NATS JetStream |",
		"| 200.0k msg/s (200.0k–200.0k), 195.3 MiB/s; CPU 5.0 µs/msg | 1.31× | 0.50× | 2.63× |",
		"| p99 0.50× (lower is better) | — | — |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks\n%s\nin\n%s", want, out.String())
		}
	}
}

func TestReadRunsRejectsBadLines(t *testing.T) {
	if _, err := readRuns(strings.NewReader("async\tbolide\t1\n")); err == nil {
		t.Fatal("short line accepted")
	}
	if _, err := readRuns(strings.NewReader("async\tbolide\tx\t0\t-\tlog\t1\n")); err == nil {
		t.Fatal("bad rep accepted")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Fatal(m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Fatal(m)
	}
}
