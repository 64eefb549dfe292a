// Command crosscheck runs the six operational commands with the upstream
// Java mqadmin and with Bolide's mqadmin against one cluster, prints both
// outputs one after the other, and compares their parsed answers with each
// other and with the state it seeded. test/apache/crosscheck.sh uses it
// against Apache RocketMQ's own name server and broker, which it starts
// here (-apache-classpath); with -namesrv it checks any running cluster
// (a Bolide one, for instance).
//
// It exits 0 when every answer matched, 1 when one did not, 2 on bad usage
// or when the cluster could not be started or seeded.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bolidemq/bolide/test/compat/mqadmincheck"
)

// Groups of the run: each tool resets its own.
const (
	javaGroup   = "xc_java"
	bolideGroup = "xc_bolide"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		namesrv   = flag.String("namesrv", "", "check the cluster behind this name server instead of starting Apache RocketMQ")
		cluster   = flag.String("cluster", "DefaultCluster", "cluster name")
		apacheCP  = flag.String("apache-classpath", "", "file holding the class path of rocketmq-namesrv and rocketmq-broker (built by crosscheck.sh)")
		javaDir   = flag.String("java-dir", "java", "the repository's test/java, where the Java mqadmin is built (default: as seen from test/)")
		work      = flag.String("work", "", "directory for logs and Apache's store (default: a new temporary one)")
		mqadmin   = flag.String("mqadmin", "", "run this Bolide mqadmin binary instead of the in-process one")
		keep      = flag.Bool("keep", false, "leave Apache running and the work directory in place")
		timeout   = flag.Duration("timeout", 10*time.Minute, "overall deadline")
		printDiff = flag.Bool("answers-only", false, "print the parsed answers, not the raw outputs")
	)
	flag.Parse()
	if (*namesrv == "") == (*apacheCP == "") {
		fmt.Fprintln(os.Stderr, "crosscheck: give exactly one of -namesrv and -apache-classpath")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	dir := *work
	if dir == "" {
		d, err := os.MkdirTemp("", "bolide-crosscheck-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "crosscheck:", err)
			return 2
		}
		dir = d
		if !*keep {
			defer os.RemoveAll(dir)
		}
	}
	start := time.Now()
	ns := *namesrv
	if ns == "" {
		a, err := startApache(ctx, *apacheCP, dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "crosscheck:", err)
			return 2
		}
		if !*keep {
			defer a.stop()
		} else {
			fmt.Printf("-keep: Apache RocketMQ stays up (name server %s, pids %d %d), work directory %s\n", a.namesrv, a.pids[0], a.pids[1], dir)
		}
		ns = a.namesrv
		fmt.Printf("Apache RocketMQ 5.3.3 up in %v: name server %s, broker %s (logs in %s)\n",
			time.Since(start).Round(time.Millisecond), a.namesrv, a.broker, dir)
	}

	java, err := mqadmincheck.FindJava(*javaDir, filepath.Join(dir, "mqadmin-logs"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "crosscheck:", err)
		return 2
	}
	t0 := time.Now()
	fx, err := mqadmincheck.Seed(ctx, mqadmincheck.SeedConfig{
		Namesrv: ns, Cluster: *cluster, Name: fmt.Sprintf("x%d", time.Now().Unix()), Groups: []string{javaGroup, bolideGroup},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crosscheck: seeding:", err)
		return 2
	}
	fmt.Printf("seeded in %v: topic %s (%d queues on %d brokers), LMQs %s and %s, %d messages, groups %s and %s, reset timestamp %d\n\n",
		time.Since(t0).Round(time.Millisecond), fx.Topic, mqadmincheck.QueueCount, len(fx.Brokers),
		fx.LMQs[0], fx.LMQs[1], len(fx.Sent), javaGroup, bolideGroup, fx.ResetTimestamp)

	jchecks := fx.Plan(javaGroup)
	t0 = time.Now()
	jres, err := java.Batch(ctx, mqadmincheck.Invocations(jchecks))
	if err != nil {
		fmt.Fprintf(os.Stderr, "crosscheck: %v\ntool log (tail):\n%s\n", err, java.LogTail(16<<10))
		return 2
	}
	javaTime := time.Since(t0)

	bchecks := fx.Plan(bolideGroup)
	bres := make([]mqadmincheck.Result, len(bchecks))
	t0 = time.Now()
	for i, c := range bchecks {
		if *mqadmin != "" {
			bres[i] = mqadmincheck.RunBolideBinary(ctx, *mqadmin, c.Args)
		} else {
			bres[i] = mqadmincheck.RunBolide(ctx, c.Args)
		}
	}
	bolideTime := time.Since(t0)

	passed, failed := 0, 0
	for i, jc := range jchecks {
		if report(os.Stdout, i+1, jc, bchecks[i], jres[i], bres[i], !*printDiff) {
			passed++
		} else {
			failed++
		}
	}
	fmt.Printf("Java mqadmin: %d commands in one JVM in %v; Bolide mqadmin: %v; total %v\n",
		len(jres), javaTime.Round(time.Millisecond), bolideTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	fmt.Printf("crosscheck: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// report prints one check: both outputs, then each tool's answer against
// the seeded state and against the other's. It returns whether all agree.
func report(w io.Writer, n int, jc, bc mqadmincheck.Check, jr, br mqadmincheck.Result, raw bool) bool {
	fmt.Fprintf(w, "=== %d. %s\n", n, jc.Name)
	if raw {
		for _, side := range []struct {
			tool string
			r    mqadmincheck.Result
		}{{"java", jr}, {"bolide", br}} {
			fmt.Fprintf(w, "--- %s mqadmin %s  [%s, %d ms]\n", side.tool, strings.Join(side.r.Args, " "), side.r.Status, side.r.Millis)
			fmt.Fprint(w, indent(side.r.Stdout))
			if side.r.Error != "" {
				fmt.Fprintf(w, "    error: %s\n", side.r.Error)
			}
			for _, rpc := range side.r.RPCs {
				// Route lookups that fail are the tool probing
				// candidates (%RETRY%group, the LMQ itself): normal.
				if rpc.Response != 0 && !(rpc.Request == 105 && rpc.Response == 17) {
					fmt.Fprintf(w, "    failed %s\n", rpc)
				}
			}
		}
	}
	ok := true
	jgot, jerr := answer(jc, jr)
	bgot, berr := answer(bc, br)
	verdict := func(label string, err error, want, got []string) {
		switch {
		case err != nil:
			ok = false
			fmt.Fprintf(w, "  %-28s FAIL: %v\n", label, err)
		case mqadmincheck.Diff(want, got) != "":
			ok = false
			fmt.Fprintf(w, "  %-28s DIFF (- expected, + got):%s\n", label, indentDiff(mqadmincheck.Diff(want, got)))
		default:
			fmt.Fprintf(w, "  %-28s same (%d rows)\n", label, len(got))
		}
	}
	fmt.Fprintln(w, "--- answers")
	verdict("java vs seeded state:", jerr, jc.Want, jgot)
	if bc.BolideNotFound(br) {
		berr = errNotFoundOK
		fmt.Fprintf(w, "  %-28s not found (exit 3): Bolide's contract for an LMQ that exists nowhere\n", "bolide vs seeded state:")
	} else {
		verdict("bolide vs seeded state:", berr, bc.Want, bgot)
	}
	if jerr == nil && berr == nil {
		verdict("bolide vs java:", nil, jgot, bgot)
	}
	fmt.Fprintln(w)
	return ok
}

// errNotFoundOK marks a Bolide "not found" its check allows.
var errNotFoundOK = errors.New("not found, as allowed")

func answer(c mqadmincheck.Check, r mqadmincheck.Result) ([]string, error) {
	if !r.OK() {
		return nil, fmt.Errorf("%s: %s", r.Status, r.Error)
	}
	return mqadmincheck.Parse(c.Kind, r.Stdout)
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

func indentDiff(d string) string { return strings.ReplaceAll(d, "\n", "\n  ") }
