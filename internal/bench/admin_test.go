package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/admin"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
)

// stubCLI stands in for the admin CLI: it records the command lines and
// answers queryMsgByKey with one hit carrying the key, queryMsgByUniqueKey
// with "not found" (exit 3) and resetOffsetByTime with two applied queues.
type stubCLI struct {
	mu    sync.Mutex
	lines [][]string
}

func (s *stubCLI) run(_ context.Context, args []string, stdout, stderr io.Writer) int {
	s.mu.Lock()
	s.lines = append(s.lines, append([]string(nil), args...))
	s.mu.Unlock()
	flag := func(name string) string {
		for i := 0; i+1 < len(args); i++ {
			if args[i] == name {
				return args[i+1]
			}
		}
		return ""
	}
	switch args[0] {
	case "queryMsgByKey":
		fmt.Fprintf(stdout, `{"messages":[{"topic":"x","keys":%q}]}`, flag("-k"))
		return 0
	case "queryMsgByUniqueKey":
		fmt.Fprintln(stderr, "queryMsgByUniqueKey: no message")
		return 3
	case "resetOffsetByTime":
		fmt.Fprint(stdout, `{"queues":[{"status":"applied"},{"status":"unchanged"}]}`)
		return 0
	}
	fmt.Fprintln(stderr, "unknown command")
	return 2
}

// TestAdminAgainstBroker runs the whole scenario, load included, on a
// small topic: every key names exactly perKey messages, every sampled
// unique key finds its message, and every reset moves every queue.
func TestAdminAgainstBroker(t *testing.T) {
	env := clienttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var senders []Sender
	for range 2 {
		c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
		t.Cleanup(func() { _ = c.Close() })
		senders = append(senders, c)
	}
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	const topic, queues, count, keys, perKey = "AdminBench", 8, 2000, 200, 10
	var created bytes.Buffer
	route, err := EnsureTopic(ctx, c, topic, env.BrokerAddr, "", queues, &created)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range senders {
		clienttest.WaitRoute(t, s.(*client.Client), topic)
	}

	stub := &stubCLI{}
	var log syncBuffer
	res, err := Admin(ctx, senders, c, AdminConfig{
		Topic: topic, Queues: route.ReadQueues, Namesrv: env.NamesrvAddr,
		Load: true, Count: count, Size: 100, Window: 8, Keys: keys,
		Queries: 100, Resets: 3, CLI: stub.run, CLIQueries: 4, CLIResets: 2, Log: &log,
	})
	if err != nil {
		t.Fatal(err)
	}

	if res.Load == nil || res.Load.Messages != count || res.Load.Errors != 0 {
		t.Fatalf("load: %+v", res.Load)
	}
	if res.Stored != count || res.Queues != queues || res.KeyRange != keys {
		t.Fatalf("stored %d in %d queues, key range %d", res.Stored, res.Queues, res.KeyRange)
	}
	if !res.Dispatch.Known || !res.Dispatch.Drained {
		t.Fatalf("dispatch wait: %+v", res.Dispatch)
	}

	kq := res.KeyQuery
	if kq.Queries != 100 || kq.Found != 100 || kq.Hits != 100*perKey || kq.Wrong != 0 || kq.Errors != 0 || kq.Latency.Count != 100 {
		t.Fatalf("key queries: %+v", kq)
	}
	uq := res.UniqQuery
	if uq.Queries != 100 || uq.Found != 100 || uq.Hits < 100 || uq.Wrong != 0 || uq.Errors != 0 {
		t.Fatalf("unique-key queries: %+v", uq)
	}
	if kq.Latency.Quantile(0.99) <= 0 || kq.Latency.Max > 30*time.Second {
		t.Fatalf("key query latency p99 %v max %v", kq.Latency.Quantile(0.99), kq.Latency.Max)
	}

	if res.ResetTimes[0] >= res.ResetTimes[1] {
		t.Fatalf("reset times %v", res.ResetTimes)
	}
	if res.Committed != queues || len(res.Reset.Runs) != 3 {
		t.Fatalf("committed %d, runs %+v", res.Committed, res.Reset.Runs)
	}
	for i, run := range res.Reset.Runs {
		if run.Err != "" || run.Queues != queues || run.Applied != queues || run.Took <= 0 {
			t.Fatalf("reset %d: %+v", i, run)
		}
		if want := res.ResetTimes[i%2]; run.Timestamp != want {
			t.Fatalf("reset %d at %d, want %d", i, run.Timestamp, want)
		}
	}
	// The last reset (the third, to the first time) left every queue below
	// its end.
	for _, q := range route.ReadQueues {
		off, err := c.QueryConsumerOffset(ctx, q.BrokerAddr, DefaultAdminGroup, topic, q.QueueID)
		if err != nil {
			t.Fatal(err)
		}
		end, err := c.MaxOffset(ctx, q.BrokerAddr, topic, q.QueueID)
		if err != nil {
			t.Fatal(err)
		}
		if off <= 0 || off >= end {
			t.Fatalf("queue %d: committed %d after the resets, end %d", q.QueueID, off, end)
		}
	}

	// The CLI path: arguments, --json decoding, exit 3 as not found.
	if ck := res.CLIKeyQuery; ck == nil || ck.Queries != 4 || ck.Found != 4 || ck.Hits != 4 || ck.Wrong != 0 || ck.Errors != 0 {
		t.Fatalf("CLI key queries: %+v", res.CLIKeyQuery)
	}
	if cu := res.CLIUniqQuery; cu == nil || cu.Found != 0 || cu.Errors != 0 || cu.Latency.Count != 4 {
		t.Fatalf("CLI unique-key queries: %+v", res.CLIUniqQuery)
	}
	if cr := res.CLIReset; cr == nil || len(cr.Runs) != 2 || cr.Runs[0].Applied != 1 || cr.Runs[0].Queues != 2 || cr.Failed() != 0 {
		t.Fatalf("CLI resets: %+v", res.CLIReset)
	}
	stub.mu.Lock()
	lines := stub.lines
	stub.mu.Unlock()
	if len(lines) != 10 {
		t.Fatalf("%d CLI runs, want 10: %q", len(lines), lines)
	}
	first := strings.Join(lines[0], " ")
	if !strings.HasPrefix(first, "queryMsgByKey -n "+env.NamesrvAddr+" -t "+topic+" -k k") || !strings.HasSuffix(first, " --json") {
		t.Fatalf("first CLI line %q", first)
	}
	// CLI resets continue the alternation after the 3 RPC resets.
	reset := strings.Join(lines[8], " ")
	if want := fmt.Sprintf("resetOffsetByTime -n %s -g %s -t %s -s %d --json", env.NamesrvAddr, DefaultAdminGroup, topic, res.ResetTimes[1]); reset != want {
		t.Fatalf("CLI reset line %q, want %q", reset, want)
	}

	var out bytes.Buffer
	if err := res.WriteSummary(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{
		"== load", "QUERY_MESSAGE by key", "QUERY_MESSAGE by unique key", "queryMsgByKey ", "BOLIDE_RESET_OFFSET",
		fmt.Sprintf("%d/%d %d/%d %d/%d", queues, queues, queues, queues, queues, queues), "queryMsgByKey RPC p99",
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(log.String(), "loading 2000 messages") {
		t.Fatalf("log: %q", log.String())
	}

	// A second run without the load measures what is there.
	again, err := Admin(ctx, nil, c, AdminConfig{Topic: topic, Queues: route.ReadQueues, Keys: keys, Queries: 20, Resets: 2})
	if err != nil {
		t.Fatal(err)
	}
	if again.Load != nil || again.Stored != count || again.KeyQuery.Found != 20 || again.Reset.Failed() != 0 ||
		again.Reset.Runs[0].Applied != queues || again.Reset.Runs[1].Applied != queues {
		t.Fatalf("second run: %+v %+v %+v", again, again.KeyQuery, again.Reset.Runs)
	}
}

// TestAdminThroughCLI times the real admin commands: they find what the
// RPCs find and the CLI resets move every queue too.
func TestAdminThroughCLI(t *testing.T) {
	// queryMsgByUniqueKey writes message bodies under os.TempDir(), as
	// Java's mqadmin does under /tmp.
	t.Setenv("TMPDIR", t.TempDir())
	env := clienttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	const topic, queues, count, keys = "AdminCLIBench", 4, 400, 40
	route, err := EnsureTopic(ctx, c, topic, env.BrokerAddr, "", queues, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cli := func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return admin.Run(ctx, args, admin.IO{Stdout: stdout, Stderr: stderr})
	}
	res, err := Admin(ctx, []Sender{c}, c, AdminConfig{
		Topic: topic, Queues: route.ReadQueues, Namesrv: env.NamesrvAddr,
		Load: true, Count: count, Size: 64, Window: 4, Keys: keys,
		Queries: 20, Resets: 1, CLI: cli, CLIQueries: 5, CLIResets: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ck := res.CLIKeyQuery; ck.Found != 5 || ck.Hits != 5*count/keys || ck.Errors != 0 {
		t.Fatalf("queryMsgByKey: %+v", ck)
	}
	if cu := res.CLIUniqQuery; cu.Found != 5 || cu.Hits < 5 || cu.Errors != 0 {
		t.Fatalf("queryMsgByUniqueKey: %+v", cu)
	}
	if cr := res.CLIReset; len(cr.Runs) != 3 || cr.Failed() != 0 {
		t.Fatalf("resetOffsetByTime: %+v", cr)
	}
	for i, run := range res.CLIReset.Runs {
		if run.Queues != queues || run.Applied != queues {
			t.Fatalf("resetOffsetByTime run %d: %+v", i, run)
		}
	}
}

func TestAdminConfigErrors(t *testing.T) {
	ctx := context.Background()
	c := client.New(client.Config{})
	defer c.Close()
	qs := []client.MessageQueue{{BrokerAddr: "127.0.0.1:1", Topic: "T"}}
	for name, cfg := range map[string]AdminConfig{
		"no topic":       {Queues: qs},
		"no queues":      {Topic: "T"},
		"load, no count": {Topic: "T", Queues: qs, Load: true},
		"cli, no ns":     {Topic: "T", Queues: qs, CLI: (&stubCLI{}).run},
	} {
		if _, err := Admin(ctx, []Sender{c}, c, cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Admin(ctx, nil, c, AdminConfig{Topic: "T", Queues: qs, Load: true, Count: 1}); err == nil {
		t.Error("load without producers: no error")
	}
}

func TestResetTimingStats(t *testing.T) {
	rt := &ResetTiming{Runs: []ResetRun{
		{Took: 30 * time.Millisecond}, {Took: 10 * time.Millisecond}, {Took: 99 * time.Second, Err: "boom"}, {Took: 20 * time.Millisecond},
	}}
	if rt.Median() != 20*time.Millisecond || rt.Max() != 30*time.Millisecond || rt.Failed() != 1 {
		t.Fatalf("median %v max %v failed %d", rt.Median(), rt.Max(), rt.Failed())
	}
	rt.Runs = rt.Runs[:2]
	if rt.Median() != 20*time.Millisecond {
		t.Fatalf("even median %v", rt.Median())
	}
	if (&ResetTiming{}).Median() != 0 || (&ResetTiming{}).Max() != 0 {
		t.Fatal("empty timing")
	}
	if BenchKey(1_000_003, 1_000_000) != "k3" {
		t.Fatal(BenchKey(1_000_003, 1_000_000))
	}
}
