package compat

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/test/compat/mqadmincheck"
)

// Consumer groups of the cross-check: the Java mqadmin resets one, Bolide's
// the other, so each sees the same state before its reset.
const (
	javaGroup   = "xc_java"
	bolideGroup = "xc_bolide"
)

// mqadminJavaDeadline bounds the whole test: seeding, one JVM running every
// command, Bolide's mqadmin.
const mqadminJavaDeadline = 3 * time.Minute

// findMqadminJava returns the upstream Java mqadmin (test/java/mqadmin),
// skipping with BOLIDE_SKIP_JAVA=1 and failing (not skipping) when it is
// not built: CI builds it before testing.
func findMqadminJava(t *testing.T) mqadmincheck.Java {
	t.Helper()
	if os.Getenv("BOLIDE_SKIP_JAVA") == "1" {
		t.Skip("BOLIDE_SKIP_JAVA=1")
	}
	j, err := mqadmincheck.FindJava("../java", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestMqadminJava runs the upstream Java mqadmin (rocketmq-tools 5.3.3),
// then Bolide's mqadmin, against two Bolide brokers with LMQ on:
// topicStatus, consumerProgress, queryMsgByKey, queryMsgByUniqueKey,
// queryMsgById and resetOffsetByTime, on a topic and on LMQs (with -c).
// Each answer, parsed, must equal what the seeded state implies, and the
// two tools' answers must be equal; every broker request the Java tool made
// that Bolide answered REQUEST_CODE_NOT_SUPPORTED is named.
func TestMqadminJava(t *testing.T) {
	java := findMqadminJava(t)
	ctx, cancel := context.WithTimeout(context.Background(), mqadminJavaDeadline)
	defer cancel()
	cl := clienttest.StartCluster(t, 2, func(c *config.Broker) {
		c.EnableLmq = true
		c.EnableMultiDispatch = true
	})
	fx, err := mqadmincheck.Seed(ctx, mqadmincheck.SeedConfig{
		Namesrv: cl.NamesrvAddr, Name: "java", Groups: []string{javaGroup, bolideGroup},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cl.Brokers {
		if err := e.Broker.Store().Flush(); err != nil {
			t.Fatal(err)
		}
	}

	checks := fx.Plan(javaGroup)
	start := time.Now()
	results, err := java.Batch(ctx, mqadmincheck.Invocations(checks))
	if err != nil {
		t.Fatalf("%v\ntool log (tail):\n%s", err, java.LogTail(32<<10))
	}
	t.Logf("Java mqadmin: %d commands in one JVM in %v", len(results), time.Since(start).Round(time.Millisecond))

	// Bolide's mqadmin, in process, the same commands on its own group.
	start = time.Now()
	bchecks := fx.Plan(bolideGroup)
	bresults := make([]mqadmincheck.Result, len(bchecks))
	for i, c := range bchecks {
		bresults[i] = mqadmincheck.RunBolide(ctx, c.Args)
	}
	t.Logf("Bolide mqadmin: %d commands in %v", len(bresults), time.Since(start).Round(time.Millisecond))

	unsupported := map[int][]string{} // request code -> checks that hit it
	for i, c := range checks {
		r := results[i]
		for _, rpc := range r.RPCs {
			if rpc.Response == int(protocol.RequestCodeNotSupported) {
				unsupported[rpc.Request] = append(unsupported[rpc.Request], c.Name)
			}
		}
		t.Run(c.Name, func(t *testing.T) {
			jgot, jok := checkAnswer(t, "java", c, r)
			var bgot []string
			bok := false
			if bc, br := bchecks[i], bresults[i]; bc.BolideNotFound(br) {
				t.Logf("bolide mqadmin %s: not found (exit 3), as its contract says for an LMQ that exists nowhere: %s",
					strings.Join(bc.Args, " "), br.Error)
			} else {
				bgot, bok = checkAnswer(t, "bolide", bc, br)
			}
			if jok && bok {
				if d := mqadmincheck.Diff(jgot, bgot); d != "" {
					t.Errorf("Bolide's mqadmin answers differently from Java's (- java, + bolide):%s\njava stdout:\n%s\nbolide stdout:\n%s", d, r.Stdout, bresults[i].Stdout)
				}
			}
		})
	}
	if len(unsupported) > 0 {
		codes := make([]int, 0, len(unsupported))
		for code := range unsupported {
			codes = append(codes, code)
		}
		slices.Sort(codes)
		var b strings.Builder
		for _, code := range codes {
			fmt.Fprintf(&b, "\n  %d %v, needed by: %s", code, protocol.RequestCode(code), strings.Join(slices.Compact(unsupported[code]), "; "))
		}
		t.Errorf("the Java mqadmin sent broker requests Bolide answers with REQUEST_CODE_NOT_SUPPORTED:%s", b.String())
	}
}

// checkAnswer checks that one tool's run succeeded with the expected
// answer, and returns the parsed answer and whether there is one.
func checkAnswer(t *testing.T, tool string, c mqadmincheck.Check, r mqadmincheck.Result) ([]string, bool) {
	t.Helper()
	cmdline := tool + " mqadmin " + strings.Join(c.Args, " ")
	t.Logf("%s: %s in %d ms", cmdline, r.Status, r.Millis)
	if !r.OK() {
		t.Errorf("%s: %s: %s%s", cmdline, r.Status, r.Error, describeRun(r))
		return nil, false
	}
	got, err := mqadmincheck.Parse(c.Kind, r.Stdout)
	if err != nil {
		t.Errorf("%s: %v%s", cmdline, err, describeRun(r))
		return nil, false
	}
	if d := mqadmincheck.Diff(c.Want, got); d != "" {
		t.Errorf("%s: answer differs from the seeded state (- want, + got):%s%s", cmdline, d, describeRun(r))
	}
	return got, true
}

// describeRun is what a failure message shows of a run: output, stderr
// and the requests made, failed ones marked.
func describeRun(r mqadmincheck.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nstdout:\n%s", r.Stdout)
	if strings.TrimSpace(r.Stderr) != "" {
		fmt.Fprintf(&b, "stderr:\n%s", r.Stderr)
	}
	if len(r.RPCs) > 0 {
		b.WriteString("requests:")
		for _, rpc := range r.RPCs {
			mark := " "
			if rpc.Response != int(protocol.Success) {
				mark = "!"
			}
			fmt.Fprintf(&b, "\n %s %v (%d) to %s -> %v (%d) %s", mark, protocol.RequestCode(rpc.Request), rpc.Request,
				rpc.Addr, protocol.ResponseCode(rpc.Response), rpc.Response, rpc.Remark)
		}
	}
	return b.String()
}
