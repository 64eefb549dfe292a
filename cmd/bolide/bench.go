package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bolidemq/bolide/internal/bench"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/config"
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
	cmd := &cobra.Command{
		Use:   "bench <scenario>",
		Short: "Load generators: produce, consume",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchProduceCmd(stdout), newBenchConsumeCmd(stdout))
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
		quiet     bool
	)
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Send messages as fast as the window allows and report throughput and send latency",
		Long: "Run --producers producers, each on its own connection with --window sends in flight, sending\n" +
			"--size-byte messages round-robin over the topic's queues until --count messages (default 100000)\n" +
			"or --duration. The first 8 bytes of each body hold the send time, for `bench consume`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := bt.namesrvs()
			if err != nil {
				return err
			}
			if producers <= 0 || window <= 0 {
				return errors.New("--producers and --window must be > 0")
			}
			if count <= 0 && duration <= 0 {
				count = 100000
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			senders := make([]bench.Sender, producers)
			var route *client.Route
			for i := range senders {
				c := client.New(client.Config{NamesrvAddrs: ns})
				defer c.Close()
				if route, err = bt.route(ctx, c, stdout); err != nil {
					return err
				}
				senders[i] = c
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
			fmt.Fprintf(stdout, "producing to %s: %d producers x window %d, %d-byte messages, %s\n",
				bt.topic, producers, window, size, mode)
			cfg := bench.ProduceConfig{Topic: bt.topic, Size: size, Window: window, Count: count, Duration: duration, Oneway: oneway}
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
