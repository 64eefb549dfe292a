package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bolidemq/bolide/internal/admin"
	"github.com/bolidemq/bolide/internal/bench"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/remoting"
)

// benchTarget holds the flags shared by the bench scenarios: where the
// cluster is and how to create the topic if it is missing.
type benchTarget struct {
	namesrv string
	topic   string
	broker  string
	cluster string
	queues  int
}

func (bt *benchTarget) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&bt.namesrv, "namesrv", "n", os.Getenv("NAMESRV_ADDR"), `name servers, "host:port;host:port" (default $NAMESRV_ADDR)`)
	cmd.Flags().StringVarP(&bt.topic, "topic", "t", "BenchTopic", "topic")
	cmd.Flags().StringVar(&bt.broker, "broker", "", "create a missing topic on this broker (default: every master of --cluster)")
	cmd.Flags().StringVar(&bt.cluster, "cluster", "DefaultCluster", "cluster whose masters get a missing topic")
	cmd.Flags().IntVar(&bt.queues, "queues", 8, "queues of a topic created by the benchmark")
}

func (bt *benchTarget) namesrvs() ([]string, error) {
	ns := config.SplitNamesrv(bt.namesrv)
	if len(ns) == 0 {
		return nil, errors.New("no name server: use -n or NAMESRV_ADDR")
	}
	return ns, nil
}

// route resolves the topic, creating it if missing, within 30 s.
func (bt *benchTarget) route(ctx context.Context, c *client.Client, out io.Writer) (*client.Route, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return bench.EnsureTopic(ctx, c, bt.topic, bt.broker, bt.cluster, bt.queues, out)
}

// interruptible stops the run (which then prints its summary) on SIGINT or
// SIGTERM.
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

func newBenchCmd(stdout io.Writer) *cobra.Command {
	var cpuProfile, memProfile string
	cmd := &cobra.Command{
		Use:   "bench <scenario>",
		Short: "Load generators: produce, consume, e2e, delay, lmq, admin, queryflood",
		Args:  cobra.NoArgs,
		// The load generator shares the machine with the broker: its own
		// CPU per message is part of every side-by-side figure. Recordings
		// end in main's exit hooks, so a failed run keeps them too.
		PersistentPreRunE: func(*cobra.Command, []string) error {
			for _, rec := range []struct {
				path  string
				start func(string) (func(), error)
			}{{cpuProfile, startCPUProfile}, {memProfile, startMemProfile}} {
				if rec.path == "" {
					continue
				}
				stop, err := rec.start(rec.path)
				if err != nil {
					return err
				}
				exitHooks = append(exitHooks, stop)
			}
			return nil
		},
	}
	cmd.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the load generator to this file")
	cmd.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write an allocation profile of the load generator to this file when it ends")
	cmd.AddCommand(newBenchProduceCmd(stdout), newBenchConsumeCmd(stdout), newBenchE2ECmd(stdout), newBenchDelayCmd(stdout),
		newBenchLMQCmd(stdout), newBenchAdminCmd(stdout), newBenchQueryFloodCmd(stdout))
	return cmd
}

func newBenchProduceCmd(stdout io.Writer) *cobra.Command {
	var (
		bt        benchTarget
		producers int
		size      int
		window    int
		count     int64
		duration  time.Duration
		oneway    bool
		batch     int
		rate      float64
		quiet     bool
	)
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Send messages as fast as the window allows and report throughput and send latency",
		Long: "Run --producers producers, each on its own connection with --window sends in flight, sending\n" +
			"--size-byte messages round-robin over the topic's queues until --count messages (default 100000)\n" +
			"or --duration. The first 8 bytes of each body hold the send time, for `bench consume`.\n" +
			"--rate paces the sends to that many per second over all producers (an offered load).\n" +
			"--batch N sends N messages per request (SEND_BATCH_MESSAGE); --window still counts messages.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := bt.namesrvs()
			if err != nil {
				return err
			}
			if err := checkLoad(producers, window, &count, duration); err != nil {
				return err
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			senders, route, closeSenders, err := bt.senders(ctx, ns, producers, stdout)
			defer closeSenders()
			if err != nil {
				return err
			}
			counter := senders[0].(bench.OffsetReader)
			before, err := bench.StoredMessages(ctx, counter, route.ReadQueues)
			if err != nil {
				return err
			}
			mode := "acknowledged"
			if oneway {
				mode = "oneway"
			}
			if rate > 0 {
				mode += fmt.Sprintf(", paced at %.0f msg/s", rate)
			}
			if batch > 1 {
				mode += fmt.Sprintf(", %d messages per batch request", batch)
			}
			fmt.Fprintf(stdout, "producing to %s: %d producers x window %d, %d-byte messages, %s\n",
				bt.topic, producers, window, size, mode)
			cfg := bench.ProduceConfig{Topic: bt.topic, Size: size, Window: window, Count: count, Duration: duration, Oneway: oneway,
				Rate: rate, Batch: batch}
			if !quiet {
				cfg.Progress.W = stdout
			}
			res, err := bench.Produce(ctx, senders, cfg)
			if err != nil {
				return err
			}
			if err := res.WriteSummary(stdout); err != nil {
				return err
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if after, err := bench.WaitStored(wctx, counter, route.ReadQueues, before+res.Messages, time.Second); err == nil {
				// Exact only if nobody else sends to the topic meanwhile.
				fmt.Fprintf(stdout, "stored: %d of %d sent\n", after-before, res.Messages)
			}
			if res.Errors > 0 {
				return fmt.Errorf("%d sends failed", res.Errors)
			}
			return nil
		},
	}
	bt.flags(cmd)
	cmd.Flags().IntVar(&producers, "producers", 4, "producers, each with its own connection")
	cmd.Flags().IntVar(&size, "size", 1024, "message body size in bytes (>= 8)")
	cmd.Flags().IntVar(&window, "window", 32, "sends in flight per producer")
	cmd.Flags().Int64Var(&count, "count", 0, "messages to send in total (default 100000 unless --duration)")
	cmd.Flags().DurationVar(&duration, "duration", 0, "run this long")
	cmd.Flags().BoolVar(&oneway, "oneway", false, "send oneway: no answer awaited, latency is the time to queue")
	cmd.Flags().IntVar(&batch, "batch", 1, "messages per send request (> 1: SEND_BATCH_MESSAGE to one queue)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "offered load: sends per second over all producers (0: as fast as the window allows)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress line")
	return cmd
}

func newBenchConsumeCmd(stdout io.Writer) *cobra.Command {
	var (
		bt       benchTarget
		group    string
		pullers  int
		batch    int
		count    int64
		duration time.Duration
		idle     time.Duration
		from     string
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Pull every queue of a topic and report throughput and end-to-end latency",
		Long: "Pull every readable queue of the topic (long polling) with --pullers goroutines (default one\n" +
			"per queue) from the first (--from earliest) or the next (--from latest) offset, until --count\n" +
			"messages, --duration, or --idle without a message. End-to-end latency is this host's clock minus\n" +
			"the send time `bench produce` writes in each body, so run both on one host.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := bt.namesrvs()
			if err != nil {
				return err
			}
			if from != "earliest" && from != "latest" {
				return fmt.Errorf("--from %q: want earliest or latest", from)
			}
			if count <= 0 && duration <= 0 {
				return errors.New("set --count or --duration")
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			c := client.New(client.Config{NamesrvAddrs: ns})
			defer c.Close()
			r, err := bt.route(ctx, c, stdout)
			if err != nil {
				return err
			}
			offsets := make([]int64, len(r.ReadQueues))
			if from == "latest" {
				for i, q := range r.ReadQueues {
					if offsets[i], err = c.MaxOffset(ctx, q.BrokerAddr, q.Topic, q.QueueID); err != nil {
						return err
					}
				}
			}
			n := pullers
			if n <= 0 || n > len(r.ReadQueues) {
				n = len(r.ReadQueues)
			}
			fmt.Fprintf(stdout, "consuming %s (%d queues) as %s with %d pullers from %s\n", bt.topic, len(r.ReadQueues), group, n, from)
			cfg := bench.ConsumeConfig{
				Group: group, Queues: r.ReadQueues, Offsets: offsets, Pullers: n, Batch: batch,
				Count: count, Duration: duration, IdleStop: idle,
			}
			if !quiet {
				cfg.Progress.W = stdout
			}
			res, err := bench.Consume(ctx, c, cfg)
			if err != nil {
				return err
			}
			if err := res.WriteSummary(stdout); err != nil {
				return err
			}
			if res.Errors > 0 {
				return fmt.Errorf("%d pulls failed", res.Errors)
			}
			return nil
		},
	}
	bt.flags(cmd)
	cmd.Flags().StringVar(&group, "group", "BenchConsumer", "consumer group (offsets are not committed)")
	cmd.Flags().IntVar(&pullers, "pullers", 0, "pulling goroutines (default one per queue)")
	cmd.Flags().IntVar(&batch, "batch", 32, "maximum messages per pull")
	cmd.Flags().Int64Var(&count, "count", 0, "stop after this many messages")
	cmd.Flags().DurationVar(&duration, "duration", 30*time.Second, "run at most this long (0: until --count)")
	cmd.Flags().DurationVar(&idle, "idle", 0, "stop once no message arrived for this long (0: never)")
	cmd.Flags().StringVar(&from, "from", "earliest", "where to start in each queue: earliest or latest")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress line")
	return cmd
}

func newBenchLMQCmd(stdout io.Writer) *cobra.Command {
	var (
		bt            benchTarget
		k, m          int
		producers     int
		size          int
		window        int
		count         int64
		duration      time.Duration
		comparePlain  bool
		sampleLMQs    int
		samplePullers int
		group         string
		drainTimeout  time.Duration
		brokerPID     int
		waitReady     string
		waitTimeout   time.Duration
		quiet         bool
	)
	cmd := &cobra.Command{
		Use:   "lmq",
		Short: "Produce to a parent topic with each message dispatched to K of M Light Message Queues",
		Long: "Send --size-byte messages to the topic, each with INNER_MULTI_DISPATCH naming --k distinct LMQs\n" +
			"drawn at random out of --m (%LMQ%bench-0 … %LMQ%bench-<m-1>), from --producers connections with\n" +
			"--window sends in flight each, until --count (default 100000) or --duration. With --compare-plain\n" +
			"(default) a plain produce of the same count or duration runs first and the rate ratio is printed.\n" +
			"Meanwhile --sample-lmqs LMQs are long-polled from their ends (end-to-end latency from the send time\n" +
			"in each body). GET_BROKER_RUNTIME_INFO, when the broker answers it, gives the dispatch lag, the\n" +
			"LMQ count and the resident memory; else --broker-pid reads VmRSS from /proc on this host.\n" +
			"The broker needs enableLmq=true, enableMultiDispatch=true and maxLmqConsumeQueueNum >= --m.\n\n" +
			"--wait-ready host:port only polls GET_MAX_OFFSET of %LMQ%bench-0 on that broker until it answers\n" +
			"and prints the time taken (for restart measurements; start it just before the broker).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			if waitReady != "" {
				start := time.Now()
				c := client.New(client.Config{})
				defer c.Close()
				wctx, cancel := context.WithTimeout(ctx, waitTimeout)
				defer cancel()
				off, took, err := bench.WaitLMQReady(wctx, c, waitReady, bench.LMQName(0), 20*time.Millisecond, start)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "ready after %s: GET_MAX_OFFSET %s = %d\n", took.Round(time.Millisecond), bench.LMQName(0), off)
				return nil
			}
			ns, err := bt.namesrvs()
			if err != nil {
				return err
			}
			if err := checkLoad(producers, window, &count, duration); err != nil {
				return err
			}
			senders, route, closeSenders, err := bt.senders(ctx, ns, producers, stdout)
			defer closeSenders()
			if err != nil {
				return err
			}
			addr := bt.broker
			if addr == "" {
				addr = route.ReadQueues[0].BrokerAddr
			}
			puller := client.New(client.Config{NamesrvAddrs: ns})
			defer puller.Close()
			rc := remoting.NewClient(remoting.ClientConfig{})
			defer rc.Close()
			info := func(ctx context.Context) (map[string]string, error) { return bench.BrokerRuntimeInfo(ctx, rc, addr) }
			if _, err := info(ctx); err != nil {
				fmt.Fprintf(stdout, "no runtime info from %s (%v)\n", addr, err)
				info = nil
			}
			fmt.Fprintf(stdout, "producing to %s: %d of %d LMQs per message, %d producers x window %d, %d-byte messages; pulling %d LMQs on %s\n",
				bt.topic, k, m, producers, window, size, sampleLMQs, addr)
			cfg := bench.LMQConfig{
				Topic: bt.topic, BrokerAddr: addr, Group: group, K: k, M: m, Size: size, Window: window,
				Count: count, Duration: duration, ComparePlain: comparePlain,
				SampleLMQs: sampleLMQs, SamplePullers: samplePullers, DrainTimeout: drainTimeout, RuntimeInfo: info,
			}
			if sampleLMQs == 0 {
				cfg.SampleLMQs = -1
			}
			if !quiet {
				cfg.Progress.W = stdout
			}
			res, err := bench.LMQ(ctx, senders, puller, cfg)
			if err != nil {
				return err
			}
			if err := res.WriteSummary(stdout); err != nil {
				return err
			}
			if brokerPID > 0 {
				if rss, hwm, err := bench.ProcResident(brokerPID); err == nil {
					fmt.Fprintf(stdout, "broker pid %d: VmRSS %s MiB, VmHWM %s MiB\n", brokerPID,
						strconv.FormatFloat(float64(rss)/(1<<20), 'f', 1, 64), strconv.FormatFloat(float64(hwm)/(1<<20), 'f', 1, 64))
				} else {
					fmt.Fprintf(stdout, "broker pid %d: %v\n", brokerPID, err)
				}
			}
			if res.Produce.Errors > 0 || (res.Plain != nil && res.Plain.Errors > 0) {
				return errors.New("some sends failed")
			}
			return nil
		},
	}
	bt.flags(cmd)
	cmd.Flags().Lookup("topic").DefValue = "BenchLMQParent"
	_ = cmd.Flags().Set("topic", "BenchLMQParent")
	cmd.Flags().IntVar(&k, "k", 5, "LMQs per message")
	cmd.Flags().IntVar(&m, "m", 1000000, "LMQs to choose from")
	cmd.Flags().IntVar(&producers, "producers", 4, "producers, each with its own connection")
	cmd.Flags().IntVar(&size, "size", 1024, "message body size in bytes (>= 8)")
	cmd.Flags().IntVar(&window, "window", 32, "sends in flight per producer")
	cmd.Flags().Int64Var(&count, "count", 0, "messages to send per phase (default 100000 unless --duration)")
	cmd.Flags().DurationVar(&duration, "duration", 0, "run each phase this long")
	cmd.Flags().BoolVar(&comparePlain, "compare-plain", true, "first run a plain produce of the same count/duration for the rate ratio")
	cmd.Flags().IntVar(&sampleLMQs, "sample-lmqs", 100, "LMQs to long-poll (0: none)")
	cmd.Flags().IntVar(&samplePullers, "sample-pullers", 0, "pulling goroutines (default one per sampled LMQ)")
	cmd.Flags().StringVar(&group, "group", "BenchLMQConsumer", "consumer group of the sample pullers")
	cmd.Flags().DurationVar(&drainTimeout, "drain-timeout", 120*time.Second, "wait at most this long after the last send for dispatch and pullers")
	cmd.Flags().IntVar(&brokerPID, "broker-pid", 0, "read the broker's VmRSS from /proc/<pid>/status (same host)")
	cmd.Flags().StringVar(&waitReady, "wait-ready", "", "only wait until this broker answers GET_MAX_OFFSET on an LMQ and print the time")
	cmd.Flags().DurationVar(&waitTimeout, "wait-timeout", 5*time.Minute, "bound of --wait-ready")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress line")
	return cmd
}

// benchAdminCLI runs one mqadmin command line in process for `bench admin`.
func benchAdminCLI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return admin.Run(ctx, args, admin.IO{Stdout: stdout, Stderr: stderr})
}

func newBenchAdminCmd(stdout io.Writer) *cobra.Command {
	var (
		bt           benchTarget
		group        string
		load         bool
		count        int64
		size         int
		keys         int
		producers    int
		window       int
		oneway       bool
		queries      int
		resets       int
		cliQueries   int
		cliResets    int
		drainTimeout time.Duration
		quiet        bool
	)
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Time queryMsgByKey, queryMsgByUniqueKey and resetOffsetByTime on a loaded topic",
		Long: "Load the topic (--queues queues, created if missing) with --count --size-byte messages, message i\n" +
			"carrying the key k<i mod --keys>, from --producers connections with --window sends in flight each, and\n" +
			"wait until the brokers have indexed everything (dispatchBehindBytes 0). --load=false skips this and\n" +
			"measures what the topic holds (give the --keys of its load).\n\n" +
			"Then, one request at a time from one client: --queries QUERY_MESSAGE by random key (maxNum 64,\n" +
			"all time), --queries by the unique key of messages pulled at random positions, UPDATE_CONSUMER_OFFSET\n" +
			"of --group on every queue, and --resets BOLIDE_RESET_OFFSET operations alternating between two store\n" +
			"times of the load (so each moves every queue). --cli-queries runs each of queryMsgByKey and\n" +
			"queryMsgByUniqueKey and --cli-resets runs of resetOffsetByTime go through the mqadmin code as well\n" +
			"(in process, --json), timed end to end: a new client, connection and route lookup each.\n" +
			"queryMsgByUniqueKey writes bodies under $TMPDIR/rocketmq/msgbodys, as mqadmin does.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := bt.namesrvs()
			if err != nil {
				return err
			}
			if load && (producers <= 0 || window <= 0 || count <= 0) {
				return errors.New("--producers, --window and --count must be > 0")
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			c := client.New(client.Config{NamesrvAddrs: ns})
			defer c.Close()
			var senders []bench.Sender
			var route *client.Route
			if load {
				var closeSenders func()
				senders, route, closeSenders, err = bt.senders(ctx, ns, producers, stdout)
				defer closeSenders()
			} else {
				route, err = bt.route(ctx, c, stdout)
			}
			if err != nil {
				return err
			}
			cfg := bench.AdminConfig{
				Topic: bt.topic, Queues: route.ReadQueues, Namesrv: bt.namesrv, Group: group,
				Load: load, Count: count, Size: size, Window: window, Oneway: oneway, Keys: keys, DrainTimeout: drainTimeout,
				Queries: queries, Resets: resets, Log: stdout,
			}
			if cliQueries > 0 || cliResets > 0 {
				cfg.CLI, cfg.CLIQueries, cfg.CLIResets = benchAdminCLI, cliQueries, cliResets
			}
			if !quiet {
				cfg.Progress.W = stdout
			}
			res, err := bench.Admin(ctx, senders, c, cfg)
			if err != nil {
				return err
			}
			if err := res.WriteSummary(stdout); err != nil {
				return err
			}
			if res.Load != nil && res.Load.Errors > 0 {
				return fmt.Errorf("%d sends failed", res.Load.Errors)
			}
			return nil
		},
	}
	bt.flags(cmd)
	for name, def := range map[string]string{"topic": "BenchAdminTopic", "queues": "1000"} {
		cmd.Flags().Lookup(name).DefValue = def
		_ = cmd.Flags().Set(name, def)
	}
	cmd.Flags().StringVar(&group, "group", bench.DefaultAdminGroup, "consumer group whose offsets are committed and reset")
	cmd.Flags().BoolVar(&load, "load", true, "load the topic first (false: measure what it holds)")
	cmd.Flags().Int64Var(&count, "count", 10_000_000, "messages to load")
	cmd.Flags().IntVar(&size, "size", 100, "message body size in bytes (>= 8)")
	cmd.Flags().IntVar(&keys, "keys", 1_000_000, "distinct message keys (message i carries k<i mod keys>)")
	cmd.Flags().IntVar(&producers, "producers", 4, "producers, each with its own connection")
	cmd.Flags().IntVar(&window, "window", 32, "sends in flight per producer")
	cmd.Flags().BoolVar(&oneway, "oneway", false, "load with oneway sends")
	cmd.Flags().IntVar(&queries, "queries", 2000, "key queries, and unique-key queries, over QUERY_MESSAGE")
	cmd.Flags().IntVar(&resets, "resets", 5, "BOLIDE_RESET_OFFSET operations")
	cmd.Flags().IntVar(&cliQueries, "cli-queries", 200, "runs of queryMsgByKey and of queryMsgByUniqueKey through the admin commands (0: none)")
	cmd.Flags().IntVar(&cliResets, "cli-resets", 5, "runs of resetOffsetByTime through the admin commands (0: none)")
	cmd.Flags().DurationVar(&drainTimeout, "drain-timeout", 30*time.Minute, "wait at most this long after the last send for the brokers to index everything")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress line")
	return cmd
}

// checkLoad validates the producer flags shared by produce and lmq; with
// neither a count nor a duration the run sends 100,000 messages.
func checkLoad(producers, window int, count *int64, duration time.Duration) error {
	if producers <= 0 || window <= 0 {
		return errors.New("--producers and --window must be > 0")
	}
	if *count <= 0 && duration <= 0 {
		*count = 100000
	}
	return nil
}

// senders opens one client (one connection) per producer and resolves the
// topic's route (creating the topic if needed). The returned func closes
// the clients; call it even on error.
func (bt *benchTarget) senders(ctx context.Context, ns []string, producers int, stdout io.Writer) ([]bench.Sender, *client.Route, func(), error) {
	var clients []*client.Client
	closeAll := func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}
	senders := make([]bench.Sender, producers)
	var route *client.Route
	for i := range senders {
		c := client.New(client.Config{NamesrvAddrs: ns})
		clients = append(clients, c)
		var err error
		if route, err = bt.route(ctx, c, stdout); err != nil {
			return nil, nil, closeAll, err
		}
		senders[i] = c
	}
	return senders, route, closeAll, nil
}
